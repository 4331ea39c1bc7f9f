// Generates src/spiffe/proto/workload-descriptor.json from the vendored src/spiffe/proto/workload.proto: the
// protobufjs JSON form of the proto, which @grpc/proto-loader's fromJSON turns into a gRPC service definition at
// run time without reading a .proto file (the bundle then has no file to locate next to dist/). Run it after
// updating the vendored proto; test/spiffe/proto.test.ts fails while the two differ.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import protobuf from 'protobufjs';

const root = resolve(import.meta.dirname, '..');

/** The descriptor of the vendored proto, as a plain object. */
export function workloadDescriptor() {
  const proto = new protobuf.Root();
  proto.loadSync(resolve(root, 'src/spiffe/proto/workload.proto'), { keepCase: true });
  return proto.toJSON();
}

if (process.argv[1] === import.meta.filename) {
  const target = resolve(root, 'src/spiffe/proto/workload-descriptor.json');
  writeFileSync(target, `${JSON.stringify(workloadDescriptor(), null, 2)}\n`);
  execFileSync('npx', ['biome', 'format', '--write', target], { cwd: root, stdio: 'inherit' });
}
