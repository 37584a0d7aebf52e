// Reconnect delays: exponential backoff with "equal jitter" (half fixed, half random), so a
// gateway restart is not hit by every browser at the same instant.
export class Backoff {
  constructor({ baseMs = 500, capMs = 15000, random = Math.random } = {}) {
    this.baseMs = baseMs;
    this.capMs = capMs;
    this.random = random;
    this.attempt = 0;
  }

  /** Delay before the next attempt; each call doubles the ceiling up to capMs. */
  next() {
    const ceiling = Math.min(this.capMs, this.baseMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 30);
    return Math.round(ceiling / 2 + this.random() * (ceiling / 2));
  }

  reset() {
    this.attempt = 0;
  }
}
