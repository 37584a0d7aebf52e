#!/usr/bin/python3
"""Peer server for the benchmarks: the same price workload as stockfeed,
written the idiomatic Python way (Debian's python3-websockets,
websockets.broadcast). Run with /usr/bin/python3:

    /usr/bin/python3 python_ws_server.py --port=8091 --rate=100

--rate=N is price updates per second in total; --tick_ms=T is the timer
period, and each tick sends the updates that are due, so --rate=200
--tick_ms=1000 sends 200 back-to-back once a second. A URL with ?batch=1
gets each tick's updates as one JSON array per frame; ?protocol=v1 gets a
{"type":"connected"} greeting first. event_time_us is the tick each update
was due at, not when the loop got round to it: a server that falls behind
its schedule shows it in latency.
"""

import argparse
import asyncio
import itertools
import json
import math
import random
import signal
import time
import urllib.parse

import websockets

SYMBOLS = ["AAPL", "MSFT", "GOOGL", "AMZN", "TSLA", "NVDA"]
SOURCES = ["finnhub", "alpha_vantage"]
BASE = {"AAPL": 189.2, "MSFT": 415.5, "GOOGL": 172.3, "AMZN": 185.1, "TSLA": 242.8, "NVDA": 121.4}


class Simulator:
    """Random-walk prices, round-robin over symbol/source pairs."""

    def __init__(self):
        self.seq = 0
        self.prices = {(s, src): BASE[s] for src in SOURCES for s in SYMBOLS}
        self.pairs = itertools.cycle([(s, src) for src in SOURCES for s in SYMBOLS])

    def next(self, due_us):
        symbol, source = next(self.pairs)
        price = max(1.0, self.prices[symbol, source] * (1 + (random.random() - 0.5) * 0.002))
        self.prices[symbol, source] = price
        self.seq += 1
        return json.dumps(
            {"type": "price", "symbol": symbol, "price": round(price, 2), "source": source,
             "timestamp": due_us // 1_000_000, "seq": self.seq, "event_time_us": due_us},
            separators=(",", ":"))


async def handler(websocket, path):
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
    websocket.batch = query.get("batch") == ["1"]
    if query.get("protocol") == ["v1"]:
        await websocket.send(json.dumps({"type": "connected", "protocol": "v1"}))
    await websocket.wait_closed()


async def emit(server, rate, tick_s):
    sim = Simulator()
    start = time.monotonic()
    start_us = time.time_ns() // 1000

    def due_us(n):  # update n (from 1) is due at the first tick at or after n / rate seconds
        return start_us + round(math.ceil(n / rate / tick_s - 1e-9) * tick_s * 1e6)

    sent = 0
    while True:
        await asyncio.sleep(tick_s)
        due = int((time.monotonic() - start) * rate) - sent
        if due > rate:  # more than a second behind: skip ahead
            sent += due - rate
            due = rate
        if due <= 0:
            continue
        texts = [sim.next(due_us(sent + i)) for i in range(1, due + 1)]
        sent += due
        clients = server.websockets
        batched = [ws for ws in clients if getattr(ws, "batch", False)]
        plain = [ws for ws in clients if not getattr(ws, "batch", False)]
        for text in texts:
            websockets.broadcast(plain, text)
        if batched:
            websockets.broadcast(batched, "[" + ",".join(texts) + "]")


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8091)
    parser.add_argument("--rate", type=int, default=100)
    parser.add_argument("--tick_ms", type=float, default=0)
    args = parser.parse_args()
    tick_ms = args.tick_ms or max(1.0, min(1000.0 / args.rate, 10.0))

    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set_result, None)
    async with websockets.serve(handler, args.host, args.port, compression=None,
                                backlog=4096) as server:
        print(f"python websockets peer listening on {args.host}:{args.port} "
              f"rate {args.rate:g}/s tick {tick_ms:g} ms", flush=True)
        emitter = asyncio.create_task(emit(server, args.rate, tick_ms / 1000))
        emitter.add_done_callback(lambda t: t.cancelled() or stop.done() or stop.set_exception(
            t.exception() or RuntimeError("emitter stopped")))
        await stop
        emitter.cancel()


if __name__ == "__main__":
    asyncio.run(main())
