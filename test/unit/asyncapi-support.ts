import { DiagnosticSeverity, Parser } from '@asyncapi/parser';

/**
 * The diagnostics of severity error that the official AsyncAPI parser finds in a document, each as
 * `<path>: <message>`; none when the document is valid (and then the parser made a document of it).
 */
export async function asyncApiErrors(doc: unknown): Promise<string[]> {
  const { document, diagnostics } = await new Parser().parse(JSON.stringify(doc));
  const errors = diagnostics
    .filter((d) => d.severity === DiagnosticSeverity.Error)
    .map((d) => `${d.path.join('/')}: ${d.message}`);
  if (errors.length === 0 && document === undefined)
    errors.push('(document): the parser made no document of it');
  return errors;
}
