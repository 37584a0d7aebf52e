#!/usr/bin/env python3
"""Follows the stockfeed price stream over gRPC and prints one JSON line per price.

After a lost connection it subscribes again after the last sequence it printed,
so it prints nothing twice and misses nothing the service still holds. Gaps and
epoch changes (the service restarted its numbering) are reported on stderr.

    python3 consumer.py --target 127.0.0.1:50051 [--symbols AAPL,MSFT] [--count N]

The stubs (stockfeed/v1/price_feed_pb2*.py) are generated from proto/, see README.md.
"""
import argparse
import json
import sys
import time

import grpc

from stockfeed.v1 import price_feed_pb2 as pb
from stockfeed.v1 import price_feed_pb2_grpc as pb_grpc


def log(message):
    print(f"consumer: {message}", file=sys.stderr, flush=True)


class Position:
    """The last sequence handled and its epoch; decides what to print."""

    def __init__(self, consecutive):
        self.epoch = ""
        self.seq = 0
        self.consecutive = consecutive  # unfiltered: every sequence arrives, so a hole is a gap

    def accept(self, update, resumed):
        """True if `update` is new. Reports gaps and epoch changes."""
        if self.epoch and update.epoch != self.epoch:
            log(f"epoch changed from {self.epoch} to {update.epoch}: numbering restarted")
            self.seq = 0
        self.epoch = update.epoch
        if update.kind == pb.UPDATE_KIND_SNAPSHOT:
            if resumed and self.seq:
                log(f"the service no longer holds what followed seq {self.seq}: gap, snapshot follows")
        elif update.sequence <= self.seq:
            return False  # already printed
        elif self.consecutive and self.seq and update.sequence != self.seq + 1:
            log(f"gap: {update.sequence - self.seq - 1} update(s) missing before seq {update.sequence}")
        if update.dropped_before:
            log(f"the service dropped {update.dropped_before} update(s) for us (reading too slowly)")
        self.seq = max(self.seq, update.sequence)
        return True


def follow(target, symbols, count):
    stub = pb_grpc.PriceFeedStub(grpc.insecure_channel(target))
    position = Position(consecutive=not symbols)
    printed = 0
    delay = 0.1
    while True:
        resumed = position.seq != 0
        request = pb.SubscribeRequest(symbols=symbols, after_sequence=position.seq, epoch=position.epoch)
        try:
            for update in stub.Subscribe(request):
                delay = 0.1
                if not position.accept(update, resumed):
                    continue
                resumed = False
                print(json.dumps({"seq": update.sequence, "epoch": update.epoch, "symbol": update.symbol,
                                  "source": update.source, "price": update.price}), flush=True)
                printed += 1
                if count and printed == count:
                    return
        except grpc.RpcError as error:
            log(f"stream ended ({error.code().name}: {error.details()}); "
                f"resuming after seq {position.seq} in {delay:.1f}s")
        time.sleep(delay)
        delay = min(delay * 2, 5.0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="127.0.0.1:50051", help="price_service HOST:PORT")
    parser.add_argument("--symbols", default="", help="comma separated; empty = all")
    parser.add_argument("--count", type=int, default=0, help="stop after N prices (0 = never)")
    args = parser.parse_args()
    try:
        follow(args.target, [s for s in args.symbols.split(",") if s], args.count)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
