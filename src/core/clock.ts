/** The time source, injectable so certificate renewal rules can be tested at any date. */
export const Clock = Symbol.for('sonarhost.Clock');

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
