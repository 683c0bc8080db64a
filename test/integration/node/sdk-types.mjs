// sdk-types.mjs: checks JSON values against the TypeScript types the official SDKs ship
// (retell-sdk's resources/*.d.ts, @gohighlevel/api-client's models/*.d.ts), read with the
// TypeScript compiler's type checker, so the contract tests do not depend on our own reading.
//
//   const types = sdkTypes(['retell-sdk/resources/agent#AgentListResponse', ...]);
//   const errors = types.check('retell-sdk/resources/agent#AgentListResponse', value);
//
// A type is named "<file under node_modules, without .d.ts>#<Qualified.Name>". check() answers a
// list of messages ("items[0].voice_id: not in the SDK type"), empty when the value conforms.
// Exact by default: a property the SDK type does not declare is an error (a request parameter
// the SDK does not know, or an answer of our fake that the real API would not send).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const here = dirname(fileURLToPath(import.meta.url));
const ROOT_FILE = join(here, '__sdk_types__.ts');

export function sdkTypes(names) {
  const aliases = new Map();
  const lines = names.map((name, i) => {
    const [file, qualified] = name.split('#');
    aliases.set(name, `T${i}`);
    return `import type * as M${i} from './node_modules/${file}';\nexport type T${i} = M${i}.${qualified};`;
  });
  const source = lines.join('\n');
  const options = { strict: true, noEmit: true, skipLibCheck: true, types: [],
    module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler,
    target: ts.ScriptTarget.ES2022 };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (file, lang, ...rest) => (file === ROOT_FILE
    ? ts.createSourceFile(file, source, lang) : getSourceFile.call(host, file, lang, ...rest));
  host.fileExists = (file) => file === ROOT_FILE || fileExists.call(host, file);
  host.readFile = (file) => (file === ROOT_FILE ? source : readFile.call(host, file));
  const program = ts.createProgram([ROOT_FILE], options, host);
  const problems = ts.getPreEmitDiagnostics(program, program.getSourceFile(ROOT_FILE));
  if (problems.length) {
    throw new Error(problems.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')).join('\n'));
  }
  const checker = program.getTypeChecker();
  const root = checker.getSymbolAtLocation(program.getSourceFile(ROOT_FILE));
  const exported = new Map(checker.getExportsOfModule(root).map((s) => [s.name, s]));
  const typeOf = (name) => {
    const alias = aliases.get(name);
    if (!alias) throw new Error(`type ${name} was not loaded`);
    return checker.getDeclaredTypeOfSymbol(exported.get(alias));
  };

  function describe(type) {
    return checker.typeToString(type, undefined, ts.TypeFormatFlags.NoTruncation);
  }

  // fromQuery: the value came from a query string, where a number or boolean is written as text
  function walk(value, type, path, errors, exact, fromQuery = false) {
    const f = type.flags;
    if (fromQuery && typeof value === 'string') {
      const numeric = /^-?\d+(\.\d+)?$/.test(value);
      if ((f & ts.TypeFlags.Number && numeric) || (f & ts.TypeFlags.NumberLiteral && numeric && Number(value) === type.value)) return;
      if (f & (ts.TypeFlags.Boolean | ts.TypeFlags.BooleanLiteral) && (value === 'true' || value === 'false')) {
        if (f & ts.TypeFlags.Boolean || String(type.intrinsicName) === value) return;
      }
    }
    if (f & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return;
    if (type.isUnion()) {
      let best = null;
      for (const member of type.types) {
        const errs = [];
        walk(value, member, path, errs, exact, fromQuery);
        if (errs.length === 0) return;
        if (best === null || errs.length < best.length) best = errs;
      }
      // an object matching no member: report the closest member's complaints
      if (value !== null && typeof value === 'object' && best) errors.push(...best);
      else errors.push(`${path || '(value)'}: ${JSON.stringify(value)} is not ${describe(type)}`);
      return;
    }
    const fail = () => errors.push(`${path || '(value)'}: ${JSON.stringify(value)} is not ${describe(type)}`);
    if (f & ts.TypeFlags.StringLiteral) return void (value === type.value || fail());
    if (f & ts.TypeFlags.NumberLiteral) return void (value === type.value || fail());
    if (f & ts.TypeFlags.BooleanLiteral) {
      return void (value === (type.intrinsicName === 'true') || fail());
    }
    if (f & ts.TypeFlags.String) return void (typeof value === 'string' || fail());
    if (f & ts.TypeFlags.Number) return void (typeof value === 'number' || fail());
    if (f & ts.TypeFlags.Boolean) return void (typeof value === 'boolean' || fail());
    if (f & ts.TypeFlags.Null) return void (value === null || fail());
    if (f & ts.TypeFlags.Undefined) return void (value === undefined || fail());
    if (checker.isArrayType(type)) {
      if (!Array.isArray(value)) return void fail();
      const [element] = checker.getTypeArguments(type);
      value.forEach((item, i) => walk(item, element, `${path}[${i}]`, errors, exact, fromQuery));
      return;
    }
    if (f & ts.TypeFlags.Object || type.isIntersection()) {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return void fail();
      const props = checker.getPropertiesOfType(type);
      const declared = new Set(props.map((p) => p.name));
      for (const prop of props) {
        const optional = (prop.flags & ts.SymbolFlags.Optional) !== 0;
        const where = path ? `${path}.${prop.name}` : prop.name;
        if (value[prop.name] === undefined) {
          if (!optional) errors.push(`${where}: missing (the SDK type requires it)`);
          continue;
        }
        walk(value[prop.name], checker.getTypeOfSymbol(prop), where, errors, exact, fromQuery);
      }
      const index = checker.getIndexInfoOfType(type, ts.IndexKind.String);
      for (const key of Object.keys(value)) {
        if (declared.has(key)) continue;
        const where = path ? `${path}.${key}` : key;
        if (index) walk(value[key], index.type, where, errors, exact, fromQuery);
        else if (exact) errors.push(`${where}: not in the SDK type ${describe(type)}`);
      }
      return;
    }
    errors.push(`${path || '(value)'}: cannot check against ${describe(type)}`);
  }

  return {
    check(name, value, { exact = true, fromQuery = false } = {}) {
      const errors = [];
      walk(value, typeOf(name), '', errors, exact, fromQuery);
      return errors;
    },
    // Where a request parameter goes, from the SDK's own documentation of it: Stainless SDKs
    // (retell-sdk) start a mixed method's parameter docs with "Query param:" or "Body param:".
    places(name) {
      const out = {};
      for (const prop of checker.getPropertiesOfType(typeOf(name))) {
        const doc = ts.displayPartsToString(prop.getDocumentationComment(checker));
        out[prop.name] = /^Query param:/.test(doc) ? 'query' : /^Body param:/.test(doc) ? 'body' : null;
      }
      return out;
    },
  };
}
