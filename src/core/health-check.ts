/** One line of `sonarhost doctor`: what was checked, the verdict, and how to fix it when it is not ok. */
export interface HealthCheck {
  name: string;
  status: 'ok' | 'warn' | 'fail';
  detail: string;
  fix?: string;
}

/** Implemented by plugins that can check their own health without changing anything. */
export interface HealthCheckable {
  check(): Promise<HealthCheck[]>;
}
