import { formatTable, Terminal, type OutputStream } from './terminal';

function stream(isTTY: boolean): OutputStream & { written: string } {
  const output = {
    isTTY,
    columns: 40,
    written: '',
    write(text: string) {
      output.written += text;
    },
  };
  return output;
}

describe('terminal output', () => {
  it('rewrites a progress line in place on a terminal, and clears it before the result', () => {
    const stdout = stream(true);
    const terminal = new Terminal(stdout, stream(false), 'text');
    terminal.progress('Waiting for revision 7: 1/2 proxies acked');
    terminal.progress('Waiting for revision 7: 2/2 proxies acked');
    terminal.line('Revision 7 reached all 2 connected proxies.');
    expect(stdout.written).toBe(
      '\r\x1b[KWaiting for revision 7: 1/2 proxies ac…' +
        '\r\x1b[KWaiting for revision 7: 2/2 proxies ac…' +
        '\r\x1b[K' +
        'Revision 7 reached all 2 connected proxies.\n',
    );
  });

  it.each([
    ['a pipe', false, 'text'],
    ['JSON output', true, 'json'],
  ] as const)('shows no progress on %s', (_case, isTTY, format) => {
    const stdout = stream(isTTY);
    new Terminal(stdout, stream(false), format).progress('Waiting for revision 7');
    expect(stdout.written).toBe('');
  });

  it('pads columns to their widest cell and trims the last', () => {
    expect(
      formatTable(
        ['NAME', 'CDS', 'VERSION'],
        [
          ['mesh/demo/virtualNode/web', 'SYNCED', 'envoy/1.30.1'],
          ['mesh/demo/virtualNode/api', 'STALE', ''],
        ],
      ),
    ).toBe(
      [
        'NAME                        CDS      VERSION',
        'mesh/demo/virtualNode/web   SYNCED   envoy/1.30.1',
        'mesh/demo/virtualNode/api   STALE',
      ].join('\n'),
    );
  });
});
