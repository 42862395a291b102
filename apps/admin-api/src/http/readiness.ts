/**
 * Whether this process wants new work. It stops wanting it the moment it begins to shut down,
 * so /readyz turns 503 and a load balancer sends new connections elsewhere while the process
 * drains.
 */
export class Readiness {
  private shuttingDown = false;

  get accepting(): boolean {
    return !this.shuttingDown;
  }

  shutDown(): void {
    this.shuttingDown = true;
  }
}
