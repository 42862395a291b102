import { Controller, Get, Headers, Inject, Param, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import { stringify } from 'yaml';
import { BadRequestException, NotFoundException } from '../../../../libs/mesh-model/src/errors';
import { describeMissing, type ResourceId } from '../../../../libs/mesh-model/src/resource-kinds';
import { MeshStore } from '../../../../libs/persistence/src/mesh-store';
import { ADMIN_API_OPTIONS, type AdminApiOptions } from '../admin-api.options';

/**
 * An Envoy v3 bootstrap for the plain Envoy image: node identity as App Mesh's Envoy image
 * sets it, and ADS (listeners and clusters, hence routes and endpoints too) from Trellis.
 */
@Controller('v1/meshes/:meshName/virtualNodes/:virtualNodeName/bootstrap')
export class BootstrapController {
  constructor(
    private readonly store: MeshStore,
    @Inject(ADMIN_API_OPTIONS) private readonly options: AdminApiOptions,
  ) {}

  @Get()
  async bootstrap(
    @Param('meshName') meshName: string,
    @Param('virtualNodeName') virtualNodeName: string,
    @Query('adminPort') adminPortParam: unknown,
    @Query('caFile') caFileParam: unknown,
    @Headers('accept') accept: string | undefined,
    @Res() response: Response,
  ): Promise<void> {
    const id: ResourceId = { meshName, kind: 'virtualNode', parentName: '', name: virtualNodeName };
    if (!(await this.store.get(id)))
      throw new NotFoundException(describeMissing(id, this.options.accountId));
    const adminPort = adminPortParam === undefined ? 9901 : Number(adminPortParam);
    if (!Number.isInteger(adminPort) || adminPort < 1 || adminPort > 65535) {
      throw new BadRequestException('adminPort: must be an integer from 1 to 65535');
    }
    if (
      caFileParam !== undefined &&
      (typeof caFileParam !== 'string' || !caFileParam.startsWith('/'))
    ) {
      throw new BadRequestException('caFile: must be an absolute path, given once');
    }
    const security = this.options.xdsSecurity;
    const document = envoyBootstrap(
      `mesh/${meshName}/virtualNode/${virtualNodeName}`,
      this.options.xdsAddress,
      adminPort,
      security?.tls
        ? {
            caFile: caFileParam ?? APP_MESH_IMAGE_CA_BUNDLE,
            sigv4Region: security.sigv4 ? this.options.region : undefined,
          }
        : undefined,
    );
    if (accept?.includes('application/json')) {
      response.json(document);
    } else {
      response.type('application/yaml').send(stringify(document));
    }
  }
}

/** Where the App Mesh Envoy image keeps its CA bundle (`/etc/pki/tls/cert.pem`). */
export const APP_MESH_IMAGE_CA_BUNDLE = '/etc/pki/tls/cert.pem';

/** TLS to the xDS port trusting `caFile`; with a region, streams signed as App Mesh's image signs them. */
export interface BootstrapSecurity {
  caFile: string;
  sigv4Region?: string;
}

/** The bootstrap document, in Envoy's proto3 JSON form. */
export function envoyBootstrap(
  nodeId: string,
  xdsAddress: { host: string; port: number },
  adminPort: number,
  security?: BootstrapSecurity,
): object {
  const xdsCluster = 'trellis_xds';
  const document = plainBootstrap(nodeId, xdsAddress, adminPort, xdsCluster, security);
  if (!security?.sigv4Region) return document;
  // SigV4 call credentials exist for google_grpc only: the same settings App Mesh's Envoy image
  // writes (AWS credentials come from Envoy's environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY).
  document.dynamic_resources.ads_config.grpc_services = [
    {
      google_grpc: {
        target_uri: `${xdsAddress.host}:${xdsAddress.port}`,
        stat_prefix: 'ads',
        channel_credentials: { ssl_credentials: { root_certs: { filename: security.caFile } } },
        credentials_factory_name: 'envoy.grpc_credentials.aws_iam',
        call_credentials: [
          {
            from_plugin: {
              name: 'envoy.grpc_credentials.aws_iam',
              typed_config: {
                '@type': 'type.googleapis.com/envoy.config.grpc_credential.v3.AwsIamConfig',
                service_name: 'appmesh',
                region: security.sigv4Region,
              },
            },
          },
        ],
      },
    },
  ];
  return document;
}

function plainBootstrap(
  nodeId: string,
  xdsAddress: { host: string; port: number },
  adminPort: number,
  xdsCluster: string,
  security: BootstrapSecurity | undefined,
) {
  return {
    node: { id: nodeId, cluster: nodeId },
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: adminPort } } },
    dynamic_resources: {
      ads_config: {
        api_type: 'GRPC',
        transport_api_version: 'V3',
        set_node_on_first_message_only: true,
        grpc_services: [{ envoy_grpc: { cluster_name: xdsCluster } }] as object[],
      },
      lds_config: { ads: {}, resource_api_version: 'V3' },
      cds_config: { ads: {}, resource_api_version: 'V3' },
    },
    static_resources: {
      clusters: [
        {
          name: xdsCluster,
          type: 'STRICT_DNS',
          connect_timeout: '1s',
          ...(security && {
            transport_socket: {
              name: 'envoy.transport_sockets.tls',
              typed_config: {
                '@type':
                  'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
                sni: xdsAddress.host,
                common_tls_context: {
                  validation_context: { trusted_ca: { filename: security.caFile } },
                },
              },
            },
          }),
          typed_extension_protocol_options: {
            'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
              '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
              explicit_http_config: { http2_protocol_options: {} },
            },
          },
          load_assignment: {
            cluster_name: xdsCluster,
            endpoints: [
              {
                lb_endpoints: [
                  {
                    endpoint: {
                      address: {
                        socket_address: { address: xdsAddress.host, port_value: xdsAddress.port },
                      },
                    },
                  },
                ],
              },
            ],
          },
        },
      ],
    },
  };
}
