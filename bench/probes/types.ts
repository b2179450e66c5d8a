// What a probe is: a name, a run that returns its figures, and a one-line reading of them.

export type Figures = Record<string, unknown>;

export interface Probe {
  name: string;
  /** What the finding is, in a few words. */
  about: string;
  run(): Promise<Figures>;
  /** A short human line from the figures. */
  line(f: Figures): string;
}
