import { Body, Controller, Get, Header, HttpCode, Param, Post } from '@nestjs/common';
import { Actor } from './actor.decorator';
import {
  AccessKeysService,
  keyName,
  type AccessKeyView,
  type IssuedAccessKeyView,
} from './access-keys.service';

/** `/v1/keys`: each operation is guarded by its own `trellis:*Key` action (docs/security.md). */
@Controller('v1/keys')
export class AccessKeysController {
  constructor(private readonly keys: AccessKeysService) {}

  @Post()
  @HttpCode(201)
  @Header('cache-control', 'no-store')
  create(@Body() body: unknown, @Actor() actor: string): Promise<IssuedAccessKeyView> {
    return this.keys.create(body, actor);
  }

  @Get()
  list(): Promise<{ keys: AccessKeyView[] }> {
    return this.keys.list();
  }

  @Get(':name')
  describe(@Param('name') name: string): Promise<AccessKeyView> {
    return this.keys.describe(keyName(name, 'name'));
  }

  @Post(':name/rotate')
  @HttpCode(200)
  @Header('cache-control', 'no-store')
  rotate(@Param('name') name: string, @Body() body: unknown): Promise<IssuedAccessKeyView> {
    return this.keys.rotate(keyName(name, 'name'), body);
  }

  @Post(':name/revoke')
  @HttpCode(200)
  revoke(@Param('name') name: string, @Actor() actor: string): Promise<AccessKeyView> {
    return this.keys.revoke(keyName(name, 'name'), actor);
  }
}
