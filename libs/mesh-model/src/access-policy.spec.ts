import { evaluatePolicy, parseAccessPolicy, wildcardMatch } from './access-policy';
import { BadRequestException } from './errors';

const PROD = 'arn:aws:appmesh:eu-west-1:111122223333:mesh/prod';

describe('wildcardMatch', () => {
  it.each([
    ['* matches anything', '*', 'arn:aws:appmesh:x:y:mesh/a/virtualNode/b', true],
    ['* crosses / and :', 'arn:aws:appmesh:*:*:mesh/prod/*', `${PROD}/virtualNode/web`, true],
    ['the mesh itself is not under mesh/prod/*', 'arn:aws:appmesh:*:*:mesh/prod/*', PROD, false],
    ['a prefix is not a match', 'arn:aws:appmesh:*:*:mesh/prod', `${PROD}-2`, false],
    ['? is exactly one character', 'mesh/p?od', 'mesh/prod', true],
    ['? is not zero characters', 'mesh/p?rod', 'mesh/prod', false],
    ['several stars backtrack', 'a*b*c', 'axxbyyc', true],
    ['several stars fail cleanly', 'a*b*c', 'axxbyy', false],
    ['literal text compares exactly', 'mesh/Prod', 'mesh/prod', false],
  ])('%s', (_case, pattern, value, expected) => {
    expect(wildcardMatch(pattern, value)).toBe(expected);
  });

  it('stays fast on a pattern built to backtrack', () => {
    const value = 'a'.repeat(5000);
    expect(wildcardMatch(`${'*a'.repeat(50)}b`, value)).toBe(false);
  });
});

describe('evaluatePolicy', () => {
  const policy = parseAccessPolicy({
    Statement: [
      { Effect: 'Allow', Action: ['appmesh:Describe*', 'appmesh:List*'], Resource: '*' },
      { Effect: 'Allow', Action: 'appmesh:*', Resource: 'arn:aws:appmesh:*:*:mesh/prod/*' },
      {
        Effect: 'Deny',
        Action: 'appmesh:DeleteVirtualNode',
        Resource: 'arn:aws:appmesh:*:*:mesh/prod/virtualNode/db',
      },
    ],
  });

  it.each([
    ['Describe anywhere', 'appmesh:DescribeMesh', 'arn:aws:appmesh:r:a:mesh/dev', 'allow'],
    [
      'actions compare case-insensitively',
      'APPMESH:describemesh',
      'arn:aws:appmesh:r:a:mesh/dev',
      'allow',
    ],
    ['writes in prod', 'appmesh:UpdateRoute', `${PROD}/virtualRouter/r/route/a`, 'allow'],
    [
      'writes elsewhere are denied by default',
      'appmesh:UpdateRoute',
      'arn:aws:appmesh:r:a:mesh/dev/virtualRouter/r/route/a',
      'implicitDeny',
    ],
    [
      'explicit deny wins over allow',
      'appmesh:DeleteVirtualNode',
      `${PROD}/virtualNode/db`,
      'explicitDeny',
    ],
    [
      'another service is not covered',
      'trellis:CreateKey',
      'arn:aws:trellis:r:a:key/x',
      'implicitDeny',
    ],
  ])('%s', (_case, action, resource, expected) => {
    expect(evaluatePolicy(policy, action, resource)).toBe(expected);
  });
});

describe('parseAccessPolicy', () => {
  it('normalises single strings to lists and fills in the version', () => {
    expect(
      parseAccessPolicy({ Statement: { Effect: 'Allow', Action: 'trellis:*', Resource: '*' } }),
    ).toEqual({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: ['trellis:*'], Resource: ['*'] }],
    });
  });

  it.each([
    ['not an object', [], 'policy: must be a JSON object'],
    ['no statement', {}, 'policy.Statement: at least one statement is required'],
    [
      'an unknown version',
      { Version: '2008-10-17', Statement: [] },
      'policy.Version: must be "2012-10-17"',
    ],
    [
      'a condition',
      { Statement: [{ Effect: 'Allow', Action: '*', Resource: '*', Condition: {} }] },
      'policy.Statement[0].Condition: not supported',
    ],
    [
      'a bad effect',
      { Statement: [{ Effect: 'allow', Action: '*', Resource: '*' }] },
      'policy.Statement[0].Effect: must be "Allow" or "Deny"',
    ],
    [
      'an action without a service',
      { Statement: [{ Effect: 'Allow', Action: 'UpdateRoute', Resource: '*' }] },
      'policy.Statement[0].Action: "UpdateRoute" is not "<service>:<action>"',
    ],
    [
      'an empty resource list',
      { Statement: [{ Effect: 'Allow', Action: '*', Resource: [] }] },
      'policy.Statement[0].Resource: must be a string or a non-empty list of strings',
    ],
    [
      'a NUL in a resource',
      { Statement: [{ Effect: 'Allow', Action: '*', Resource: 'mesh/\u0000' }] },
      'policy.Statement[0].Resource: control characters are not allowed',
    ],
  ])('refuses %s', (_case, document, message) => {
    expect(() => parseAccessPolicy(document)).toThrow(BadRequestException);
    expect(() => parseAccessPolicy(document)).toThrow(message);
  });
});
