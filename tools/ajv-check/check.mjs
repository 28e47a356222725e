// Reads a JSON array of {schema, valid: [...], invalid: [...]} cases on stdin, compiles each
// schema with ajv in strict mode (as Genkit JS does: `new Ajv()` + ajv-formats) and checks the
// samples. Prints "ok <n>" or exits non-zero with the reason.
import Ajv from 'ajv';
import addFormats from 'ajv-formats';

let input = '';
for await (const chunk of process.stdin) input += chunk;
const cases = JSON.parse(input);
const ajv = new Ajv({ strict: true });
addFormats(ajv);
for (const [i, c] of cases.entries()) {
  const { $schema, ...schema } = c.schema;
  if ($schema !== 'http://json-schema.org/draft-07/schema#') {
    console.error(`case ${i}: unexpected $schema ${$schema}`);
    process.exit(1);
  }
  const validate = ajv.compile(schema);
  for (const v of c.valid) {
    if (!validate(v)) {
      console.error(`case ${i}: rejected valid sample ${JSON.stringify(v)}: ${JSON.stringify(validate.errors)}`);
      process.exit(1);
    }
  }
  for (const v of c.invalid) {
    if (validate(v)) {
      console.error(`case ${i}: accepted invalid sample ${JSON.stringify(v)}`);
      process.exit(1);
    }
  }
}
console.log(`ok ${cases.length}`);
