// One OTLP protobuf size estimator and one writer, kept for the life of the process, so that V8
// keeps the serializer's optimized code across full collections.
//
// The OTLP protobuf serializer (@opentelemetry/otlp-transformer) makes a ProtobufSizeEstimator and
// a ProtobufWriter for every export request and drops both when it is done. V8's optimized code
// holds the hidden classes (maps) of the objects it works on only weakly, and a class field's map is
// otherwise reachable only through weak transitions: once no estimator or writer is alive, the next
// full collection frees their maps and throws away the optimized code of every function that used
// them, the whole serializer (writeVarint, writeString, writeAttributes…), which V8 then compiles
// again from the next exports on. The extension keeps its heap small (heap-settings.ts), so full
// collections come often. With one instance of each alive, their maps stay. Measured with
// test/bench/concurrency.ts (8 in flight, 1 KB API Gateway events, tracing on, --warm 100), layers
// with and without this side by side, 2026-12-06 on a machine shared with an hour's soak: V8's
// "weak objects" deoptimizations over 3 rounds 111 -> 32 (297 -> 68 built unminified), TurboFan
// compilations 530 -> 426 (795 -> 493); the extension's CPU per invocation from -14 % to +5 % in
// seven same-run pairs, -6.5 % on average (the shared machine's noise is of that order).
//
// Neither class is among the package's exports: they are imported from the files the package's own
// serializers import them from, the same modules in the bundle and under Node (a test checks that
// keeping them ends the deoptimizations; the bundles' metafiles, that each holds one copy).

// @ts-expect-error -- an internal module of the package, without type declarations (see above).
import { ProtobufSizeEstimator } from '../../node_modules/@opentelemetry/otlp-transformer/dist/common/protobuf/protobuf-size-estimator.mjs';
// @ts-expect-error -- as above.
import { ProtobufWriter } from '../../node_modules/@opentelemetry/otlp-transformer/dist/common/protobuf/protobuf-writer.mjs';

const kept: object[] = [];

/** Keeps one estimator and one writer alive from now on (once; later calls do nothing). */
export function keepSerializerShapes(): void {
  if (kept.length > 0) return;
  kept.push(new (ProtobufSizeEstimator as new () => object)(), new (ProtobufWriter as new (size: number) => object)(16));
}
