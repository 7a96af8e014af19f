// How a work loop sleeps: until its poll interval runs out or something nudges it. A nudge
// that comes while the loop is busy is kept, so the loop's next sleep returns at once — work
// queued during a claim is never left for the next poll.
export class WakeUp {
  #wake: (() => void) | undefined;
  #nudged = false;

  nudge(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    if (wake) wake();
    else this.#nudged = true;
  }

  sleep(ms: number): Promise<void> {
    if (this.#nudged) {
      this.#nudged = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = undefined;
        resolve();
      }, ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
