// Prints the JSON schema of a promptfoo config, derived from the zod schema that the promptfoo
// npm package itself validates configs with (UnifiedConfigSchema), the way promptfoo builds
// the config-schema.json it publishes on its site: the input side of the schema, pipes and
// transforms described by what they accept.
//
//   node config-schema.mjs path/to/node_modules/promptfoo > config-schema.json
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";

const packageRoot = path.resolve(process.argv[2]);
const dist = path.join(packageRoot, "dist", "src");
// The package's index re-exports the schema from a content-hashed chunk under a short alias.
const index = readFileSync(path.join(dist, "index.js"), "utf8");
const reexport = [...index.matchAll(/import \{([^}]*)\} from "(\.\/[^"]+)"/g)]
  .find(([, names]) => /\bas UnifiedConfigSchema\b/.test(names));
if (!reexport) {
  console.error(`${packageRoot}: no UnifiedConfigSchema export found; is this the promptfoo package?`);
  process.exit(1);
}
const alias = reexport[1].match(/(\w+) as UnifiedConfigSchema\b/)[1];
const chunk = await import(pathToFileURL(path.join(dist, reexport[2])).href);
const requireHere = createRequire(path.join(packageRoot, "package.json"));
const { z } = await import(pathToFileURL(requireHere.resolve("zod")).href);

const unwrap = (schema) => {
  const def = schema?._def ?? {};
  if (["optional", "nullable"].includes(def.type) && def.innerType) return unwrap(def.innerType);
  if (["pipe", "transform"].includes(def.type) && def.in) return unwrap(def.in);
  return schema;
};
const describeInput = (ctx) => {
  const def = ctx.zodSchema._def ?? {};
  const wrapsPipe = ["optional", "nullable"].includes(def.type) &&
    ["pipe", "transform"].includes(def.innerType?._def?.type);
  const isPipe = ["pipe", "transform"].includes(def.type) && def.in;
  if ((wrapsPipe || isPipe) && Object.keys(ctx.jsonSchema).length === 0) {
    const { $schema, ...rest } = z.toJSONSchema(unwrap(ctx.zodSchema), { unrepresentable: "any" });
    Object.assign(ctx.jsonSchema, rest);
  }
};
const config = chunk[alias];
const { $schema, ...body } = z.toJSONSchema(config._def?.in ?? config, { unrepresentable: "any", override: describeInput });
const version = JSON.parse(readFileSync(path.join(packageRoot, "package.json"), "utf8")).version;
process.stdout.write(JSON.stringify({ $schema, title: `promptfoo ${version} config`, ...body }, null, 1) + "\n");
