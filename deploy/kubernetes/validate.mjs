#!/usr/bin/env node
// Validates Kubernetes manifests against the Kubernetes API schemas (the kubernetes-models npm
// packages, offline). Reads YAML from the files named, or from standard input:
//
//   kubectl kustomize deploy/kubernetes/overlays/production | node deploy/kubernetes/validate.mjs
//   node deploy/kubernetes/validate.mjs deploy/kubernetes/base/*.yaml
//   node deploy/kubernetes/validate.mjs --partial deploy/kubernetes/overlays/dev/dev-settings.yaml
//
// --partial is for strategic-merge patches: fields present must be valid, required ones may be
// missing. Kustomization files are skipped. Prints one line per object; exits 1 on any error.
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';

const args = process.argv.slice(2);
const partial = args.includes('--partial');
const files = args.filter((arg) => arg !== '--partial');

/** The kubernetes-models module of an apiVersion: core, built-in groups, Prometheus Operator. */
function modelModule(apiVersion) {
  if (apiVersion.startsWith('monitoring.coreos.com/'))
    return `@kubernetes-models/prometheus-operator/${apiVersion}`;
  return `kubernetes-models/${apiVersion}`;
}

async function validate(object, source) {
  const { apiVersion, kind } = object ?? {};
  const name = `${kind}/${object?.metadata?.name ?? '?'} (${source})`;
  if (typeof apiVersion !== 'string' || typeof kind !== 'string')
    return [`${name}: no apiVersion or kind`];
  if (apiVersion.startsWith('kustomize.config.k8s.io/')) return undefined;
  let Model;
  try {
    Model = (await import(modelModule(apiVersion)))[kind];
  } catch {
    Model = undefined;
  }
  if (typeof Model !== 'function') return [`${name}: unknown kind ${apiVersion} ${kind}`];
  // Kustomize folds long base64 values over lines; the API server's decoder (Go's
  // encoding/base64) skips the line breaks, the schema's "byte" pattern does not.
  if (kind === 'Secret' && object.data) {
    for (const key of Object.keys(object.data))
      object.data[key] = String(object.data[key]).replace(/\s+/g, '');
  }
  try {
    new Model(object).validate();
    return [];
  } catch (error) {
    const problems = (error.errors ?? [{ instancePath: '', message: error.message }]).filter(
      (problem) => !(partial && problem.keyword === 'required'),
    );
    return problems.map((problem) => `${name}: ${problem.instancePath || '/'} ${problem.message}`);
  }
}

const inputs = files.length
  ? files.map((file) => ({ source: file, text: readFileSync(file, 'utf8') }))
  : [{ source: 'stdin', text: readFileSync(0, 'utf8') }];
let failed = false;
for (const { source, text } of inputs) {
  for (const document of parseAllDocuments(text)) {
    if (document.errors.length > 0) {
      failed = true;
      console.error(`${source}: YAML: ${document.errors[0].message}`);
      continue;
    }
    const object = document.toJS();
    if (object === null) continue;
    const problems = await validate(object, source);
    if (problems === undefined) continue;
    if (problems.length === 0) console.log(`ok ${object.kind}/${object.metadata?.name}`);
    for (const problem of problems) console.error(problem);
    failed ||= problems.length > 0;
  }
}
process.exit(failed ? 1 : 0);
