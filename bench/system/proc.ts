import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

// What Linux's /proc says about other processes: the control plane under test runs as a
// separate process, and its embedded Postgres as that process's descendants.

let clockTicks: number | undefined;

/** Clock ticks per second, the unit of utime and stime in /proc/<pid>/stat. */
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

interface ProcStat {
  pid: number;
  parentPid: number;
  cpuMs: number;
}

function procStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may contain spaces.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return {
    pid,
    parentPid: Number(fields[1]),
    cpuMs: ((utime + stime) * 1000) / ticksPerSecond(),
  };
}

function allPids(): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number);
}

export interface CpuSample {
  /** User + system CPU of the process itself. */
  processMs: number;
  /** User + system CPU of its live descendants (the embedded Postgres and its backends). */
  descendantsMs: number;
}

/** CPU used so far by `pid` and, separately, by the processes below it. */
export function sampleCpu(pid: number): CpuSample {
  const stats = allPids()
    .map(procStat)
    .filter((stat) => stat !== undefined);
  const children = new Map<number, ProcStat[]>();
  for (const stat of stats) {
    const siblings = children.get(stat.parentPid) ?? [];
    siblings.push(stat);
    children.set(stat.parentPid, siblings);
  }
  let descendantsMs = 0;
  const pending = [...(children.get(pid) ?? [])];
  for (let next = pending.pop(); next; next = pending.pop()) {
    descendantsMs += next.cpuMs;
    pending.push(...(children.get(next.pid) ?? []));
  }
  return { processMs: procStat(pid)?.cpuMs ?? NaN, descendantsMs };
}

/** A `kB` field of /proc/<pid>/status (VmRSS: resident now, VmHWM: peak), in bytes. */
export function statusBytes(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(
    readFileSync(`/proc/${pid}/status`, 'utf8'),
  );
  return Number(match?.[1] ?? NaN) * 1024;
}
