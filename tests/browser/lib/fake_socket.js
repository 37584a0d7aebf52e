// A stand-in for the browser's WebSocket, for FeedConnection in node: tests
// open, feed and drop it by hand. `FakeSocket.all` lists every socket made
// since a test last emptied it.
export class FakeSocket {
  static all = [];
  constructor(url) {
    this.url = url;
    this.readyState = 0;
    this.sent = [];
    FakeSocket.all.push(this);
  }
  send(s) { this.sent.push(JSON.parse(s)); }
  close() { this.readyState = 3; }
  open() { this.readyState = 1; this.onopen(); }
  message(o) { this.onmessage({ data: JSON.stringify(o) }); }
  drop() { this.readyState = 3; this.onclose(); }
}
