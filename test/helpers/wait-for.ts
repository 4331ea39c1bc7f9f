/** Waits until `predicate` holds, polling every 20 ms, at most `ms`. */
export async function waitFor(predicate: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('waitFor: condition not met in time');
    await new Promise((done) => setTimeout(done, 20));
  }
}
