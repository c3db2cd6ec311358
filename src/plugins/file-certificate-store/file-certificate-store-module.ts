import { ContainerModule } from 'inversify';
import { CertificateStore } from '../../core/certificate-store.js';
import { FileCertificateStore } from './file-certificate-store.js';

export const fileCertificateStoreModule = new ContainerModule(({ bind }) => {
  bind(FileCertificateStore).toSelf().inSingletonScope();
  bind(CertificateStore).toService(FileCertificateStore);
});
