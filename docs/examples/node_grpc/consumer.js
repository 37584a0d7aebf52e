// Follows the stockfeed price stream over gRPC and prints one JSON line per price.
//
// After a lost connection it subscribes again after the last sequence it
// printed, so it prints nothing twice and misses nothing the service still
// holds. Gaps and epoch changes (the service restarted its numbering) are
// reported on stderr.
//
//   npm ci && node consumer.js [--target 127.0.0.1:50051] [--symbols AAPL,MSFT] [--count N]
//       [--proto ../../../proto/stockfeed/v1/price_feed.proto]
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';

const { values: args } = parseArgs({
  options: {
    target: { type: 'string', default: '127.0.0.1:50051' },
    symbols: { type: 'string', default: '' },
    count: { type: 'string', default: '0' },
    proto: {
      type: 'string',
      default: fileURLToPath(new URL('../../../proto/stockfeed/v1/price_feed.proto', import.meta.url)),
    },
  },
});

// longs: String keeps 64-bit sequences exact (a JS number is exact only to 2^53).
// keepCase: the field names of the .proto (after_sequence), not camelCase.
const definition = protoLoader.loadSync(args.proto, { keepCase: true, longs: String, enums: String, defaults: true });
const { PriceFeed } = grpc.loadPackageDefinition(definition).stockfeed.v1;
const client = new PriceFeed(args.target, grpc.credentials.createInsecure());

const symbols = args.symbols.split(',').filter(Boolean);
const count = Number(args.count);
const log = (message) => console.error(`consumer: ${message}`);

// The position: the last sequence printed and its epoch.
let epoch = '';
let lastSeq = 0n;
let printed = 0;
let delayMs = 100;

function subscribe() {
  const resumed = lastSeq !== 0n;
  const call = client.Subscribe({ symbols, after_sequence: lastSeq.toString(), epoch });
  call.on('data', (update) => {
    delayMs = 100;
    const seq = BigInt(update.sequence);
    if (epoch && update.epoch !== epoch) {
      log(`epoch changed from ${epoch} to ${update.epoch}: numbering restarted`);
      lastSeq = 0n;
    }
    epoch = update.epoch;
    if (update.kind === 'UPDATE_KIND_SNAPSHOT') {
      if (resumed && lastSeq) log(`the service no longer holds what followed seq ${lastSeq}: gap, snapshot follows`);
    } else if (seq <= lastSeq) {
      return; // already printed
    } else if (symbols.length === 0 && lastSeq && seq !== lastSeq + 1n) {
      log(`gap: ${seq - lastSeq - 1n} update(s) missing before seq ${seq}`);
    }
    if (seq > lastSeq) lastSeq = seq;
    const { symbol, source, price } = update;
    console.log(JSON.stringify({ seq: Number(seq), epoch: update.epoch, symbol, source, price }));
    if (count && ++printed === count) {
      call.cancel();
      process.exit(0);
    }
  });
  call.on('error', (error) => {
    log(`stream ended (${error.details}); resuming after seq ${lastSeq} in ${delayMs} ms`);
    setTimeout(subscribe, delayMs);
    delayMs = Math.min(delayMs * 2, 5000);
  });
}

subscribe();
