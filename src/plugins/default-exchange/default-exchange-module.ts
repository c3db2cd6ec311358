import { ContainerModule } from 'inversify';
import { CertificateExchange } from '../../core/certificate-exchange.js';
import { DefaultCertificateExchange } from './default-certificate-exchange.js';

export const defaultExchangeModule = new ContainerModule(({ bind }) => {
  bind(DefaultCertificateExchange).toSelf().inSingletonScope();
  bind(CertificateExchange).toService(DefaultCertificateExchange);
});
