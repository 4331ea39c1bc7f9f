/** Counts outcomes only after a warm-up, so that one load process both warms the server up and measures it. */
export class Measurement {
  #requests = 0;
  #errors = 0;
  readonly #from: number;
  readonly #deadline: number;

  constructor(warmupSeconds: number, seconds: number) {
    this.#from = performance.now() + warmupSeconds * 1000;
    this.#deadline = this.#from + seconds * 1000;
  }

  /** Whether the run is still going. */
  get running(): boolean {
    return performance.now() < this.#deadline;
  }

  /** Records one outcome (ignored during the warm-up). */
  record(ok: boolean): void {
    if (performance.now() < this.#from) return;
    if (ok) this.#requests++;
    else this.#errors++;
  }

  /** Whether the warm-up is over. */
  get measuring(): boolean {
    return performance.now() >= this.#from;
  }

  /** Milliseconds until the warm-up ends (0 once it has). */
  get warmupLeftMs(): number {
    return Math.max(0, this.#from - performance.now());
  }

  /** The counts and the measured duration, as the load generators print them. */
  result(): { requests: number; errors: number; seconds: number } {
    return { requests: this.#requests, errors: this.#errors, seconds: (performance.now() - this.#from) / 1000 };
  }
}
