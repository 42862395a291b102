import type { AccessLog } from '../../../envoy-api/generated/envoy/config/accesslog/v3/accesslog';
import type { SubstitutionFormatString } from '../../../envoy-api/generated/envoy/config/core/v3/substitution_format_string';
import { FileAccessLog } from '../../../envoy-api/generated/envoy/extensions/access_loggers/file/v3/file';
import { packAny } from '../../../envoy-api/src/any';
import type { AccessLogIr } from '../ir';

/**
 * A file access logger, also for `/dev/stdout`: App Mesh's own config dumps show the file logger
 * writing to /dev/stdout, and one logger keeps one format for every path. Without a format,
 * Envoy's default format applies.
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/extensions/access_loggers/file/v3/file.proto
 */
export function fileAccessLog(log: AccessLogIr): AccessLog {
  const format = log.format === undefined ? undefined : logFormat(log.format);
  return {
    name: 'envoy.access_loggers.file',
    configType: {
      $case: 'typedConfig',
      value: packAny(FileAccessLog, {
        path: log.path,
        ...(format !== undefined && { accessLogFormat: { $case: 'logFormat', value: format } }),
      }),
    },
  };
}

function logFormat(format: NonNullable<AccessLogIr['format']>): SubstitutionFormatString {
  return format.kind === 'text'
    ? { format: { $case: 'textFormat', value: format.text } }
    : { format: { $case: 'jsonFormat', value: { ...format.fields } } };
}
