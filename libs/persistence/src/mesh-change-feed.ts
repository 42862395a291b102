import type { Logger } from 'pino';
import { ChangeFeed } from './change-feed';
import { MESH_CHANGES_CHANNEL } from './mesh-store';

/** The mesh-change channel's notifications, `{"mesh": name, "revision": n}`. */
export class MeshChangeFeed extends ChangeFeed {
  constructor(
    url: string,
    logger: Logger,
    onChange: (meshName: string, revision: number) => void,
    /** Called after (re)connecting: anything may have changed while not listening. */
    onConnected: () => void,
  ) {
    super(
      url,
      MESH_CHANGES_CHANNEL,
      logger,
      ({ mesh, revision }) => {
        if (typeof mesh !== 'string' || typeof revision !== 'number') return false;
        onChange(mesh, revision);
        return true;
      },
      onConnected,
    );
  }
}
