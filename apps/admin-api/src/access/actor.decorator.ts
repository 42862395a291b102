import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { actorFrom } from '../app-mesh/app-mesh-request';
import type { AuthenticatedRequest } from './request-authentication';

/**
 * Who made the request, as the change log records it: the verified key's name when
 * authentication is on; with it off, the access key id the client signed with, unverified.
 */
export const Actor = createParamDecorator((_data: unknown, context: ExecutionContext): string => {
  const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
  return request.principal?.keyName ?? actorFrom(request.headers.authorization);
});
