#!/usr/bin/env python3
"""Follows stockfeed prices through the WebSocket gateway (protocol v1) and
prints one JSON line per price.

After a lost connection it reconnects with `after_seq` and `epoch`: the gateway
replays what it still holds, so nothing is printed twice or skipped. When the
gateway cannot (a `resync`: another epoch, a restarted gateway, or older than
its buffer) or the client fell behind (`conflated`), it says so on stderr.

    python3 consumer.py --url ws://127.0.0.1:8080/ws [--symbols AAPL,MSFT] [--count N]
"""
import argparse
import asyncio
import json
import sys
from urllib.parse import urlencode

import websockets


def log(message):
    print(f"consumer: {message}", file=sys.stderr, flush=True)


class Consumer:
    def __init__(self, url, symbols, count):
        self.url, self.symbols, self.count = url, symbols, count
        self.epoch = ""  # the position: the last sequence printed, and its epoch
        self.seq = 0
        self.printed = 0

    def connect_url(self):
        query = {"protocol": "v1"}
        if self.symbols:
            query["symbols"] = ",".join(self.symbols)
        if self.seq:
            query.update(after_seq=self.seq, epoch=self.epoch)
        return f"{self.url}?{urlencode(query)}"

    def price(self, price, snapshot=False):
        """Prints a price unless already printed; returns True when --count is reached."""
        if price["seq"] <= self.seq:
            return False
        if not snapshot and not price.get("snapshot") and not self.symbols and self.seq \
                and price["seq"] != self.seq + 1:
            log(f"gap: {price['seq'] - self.seq - 1} update(s) missing before seq {price['seq']}")
        self.seq = price["seq"]
        print(json.dumps({"seq": price["seq"], "epoch": self.epoch, "symbol": price["symbol"],
                          "source": price["source"], "price": price["price"],
                          "snapshot": snapshot or price.get("snapshot", False)}), flush=True)
        self.printed += 1
        return self.count and self.printed == self.count

    def handle(self, message):
        """Returns True when done."""
        kind = message["type"]
        if kind == "connected":
            if self.epoch and message["epoch"] != self.epoch:
                log(f"epoch changed from {self.epoch} to {message['epoch']}: numbering restarted")
                self.seq = 0
            self.epoch = message["epoch"]
        elif kind == "resumed":
            log(f"resumed from seq {message['from_seq']}")
        elif kind == "resync":
            log(f"resync: {message['reason']}; what followed seq {self.seq} is lost, a snapshot follows")
        elif kind == "conflated":
            log(f"conflated: fell behind, {message['skipped']} update(s) skipped")
        elif kind == "snapshot":
            return any(self.price(p, snapshot=True) for p in message["prices"])
        elif kind == "price":
            return self.price(message)
        elif kind == "error":
            log(f"gateway error {message['code']}: {message['message']}")
        return False

    async def run(self):
        delay = 0.1
        while True:
            try:
                async with websockets.connect(self.connect_url()) as ws:
                    delay = 0.1
                    async for text in ws:
                        if self.handle(json.loads(text)):
                            return
                log("connection closed by the gateway")
            except (OSError, websockets.WebSocketException) as error:
                log(f"connection lost ({error})")
            log(f"reconnecting after seq {self.seq} in {delay:.1f}s")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="ws://127.0.0.1:8080/ws")
    parser.add_argument("--symbols", default="", help="comma separated; empty = all")
    parser.add_argument("--count", type=int, default=0, help="stop after N prices (0 = never)")
    args = parser.parse_args()
    try:
        asyncio.run(Consumer(args.url, [s for s in args.symbols.split(",") if s], args.count).run())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
