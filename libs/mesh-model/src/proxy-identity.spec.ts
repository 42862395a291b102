import { foreignOwnerProblem, parseProxyIdentity, proxyPath } from './proxy-identity';

describe('parseProxyIdentity', () => {
  it.each([
    ['a virtual node path', 'mesh/shop/virtualNode/web', 'virtualNode', 'shop', 'web', undefined],
    [
      'a gateway path',
      'mesh/shop/virtualGateway/ingress',
      'virtualGateway',
      'shop',
      'ingress',
      undefined,
    ],
    [
      'a virtual node ARN',
      'arn:aws:appmesh:eu-west-1:111122223333:mesh/shop/virtualNode/web',
      'virtualNode',
      'shop',
      'web',
      undefined,
    ],
    [
      "the Kubernetes controller's shared-mesh form",
      'mesh/shop@111122223333/virtualNode/web_prod',
      'virtualNode',
      'shop',
      'web_prod',
      '111122223333',
    ],
    [
      'the shared-mesh form of a gateway',
      'mesh/shop@111122223333/virtualGateway/ingress_prod',
      'virtualGateway',
      'shop',
      'ingress_prod',
      '111122223333',
    ],
    [
      'an @ not followed by an account id, which is part of the mesh name',
      'mesh/team@eu/virtualNode/web',
      'virtualNode',
      'team@eu',
      'web',
      undefined,
    ],
  ])('reads %s', (_case, text, kind, meshName, name, meshOwner) => {
    expect(parseProxyIdentity(text)).toEqual({
      kind,
      meshName,
      name,
      ...(meshOwner !== undefined && { meshOwner }),
    });
  });

  it.each([
    ['an empty id', ''],
    ['another resource kind', 'mesh/shop/virtualRouter/web'],
    ['a path with extra segments', 'mesh/shop/virtualNode/web/extra'],
  ])('names no proxy for %s', (_case, text) => {
    expect(parseProxyIdentity(text)).toBeUndefined();
  });

  it('serves the owner form as the plain path, so authorization and configuration agree', () => {
    const identity = parseProxyIdentity('mesh/shop@111122223333/virtualNode/web')!;
    expect(proxyPath(identity)).toBe('mesh/shop/virtualNode/web');
  });
});

describe('foreignOwnerProblem', () => {
  it('accepts no owner and the own account', () => {
    expect(foreignOwnerProblem(parseProxyIdentity('mesh/a/virtualNode/b')!, '111122223333')).toBe(
      undefined,
    );
    expect(
      foreignOwnerProblem(parseProxyIdentity('mesh/a@111122223333/virtualNode/b')!, '111122223333'),
    ).toBe(undefined);
  });

  it("refuses another account's mesh, naming both accounts", () => {
    expect(
      foreignOwnerProblem(parseProxyIdentity('mesh/a@444455556666/virtualNode/b')!, '111122223333'),
    ).toBe(
      'the node id names mesh a owned by account 444455556666; this control plane serves the meshes of account 111122223333 only',
    );
  });
});
