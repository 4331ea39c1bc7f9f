/** Validates a SARIF log against the vendored OASIS SARIF 2.1.0 schema (JSON Schema draft-04). */
import { readFileSync } from 'node:fs';
import AjvModule from 'ajv-draft-04';

// A CommonJS module: under NodeNext its class is the default export's `default`.
const Ajv = AjvModule.default;

const schema = JSON.parse(readFileSync(new URL('./fixtures/sarif-schema-2.1.0.json', import.meta.url), 'utf8'));
// strict: false: the schema uses draft-04 keywords Ajv's strict mode warns about; formats are not asserted.
const validate = new Ajv({ strict: false, allErrors: true, validateFormats: false }).compile(schema);

/** The schema errors of `log` (`instancePath message`), empty when it validates. */
export function validateSarif(log: unknown): string[] {
  if (validate(log)) return [];
  return (validate.errors ?? []).map((error) => `${error.instancePath} ${error.message ?? ''}`);
}
