/**
 * nginx from Debian's packages, started on a port of 127.0.0.1 with a server block (the one
 * `metamer stimuli export-static` writes): the static host of the tests and the benchmarks'
 * baseline. Its workers run as an unprivileged user, so what it serves must be world-readable.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';

function nginxPath(): string {
  try {
    return execFileSync('sh', ['-c', 'command -v nginx || ls /usr/sbin/nginx'], { encoding: 'utf8' }).trim().split('\n')[0]!;
  } catch {
    throw new Error('nginx is needed here: apt-get install nginx-light');
  }
}

async function waitFor(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx exited (${child.exitCode})`);
    try {
      await fetch(url);
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`nginx did not answer at ${url}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Starts nginx (one worker by default, as the serving benchmark compares with one server process). */
export async function startNginx(dir: string, serverBlock: string, port: number, workers = 1): Promise<ChildProcess> {
  const nginx = nginxPath();
  const conf = path.join(dir, 'nginx-bench.conf');
  await fs.writeFile(
    conf,
    `worker_processes ${workers};
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path ${dir}/nginx-tmp;
  proxy_temp_path ${dir}/nginx-tmp;
  fastcgi_temp_path ${dir}/nginx-tmp;
  uwsgi_temp_path ${dir}/nginx-tmp;
  scgi_temp_path ${dir}/nginx-tmp;
${serverBlock.replace(/listen 80;/, `listen 127.0.0.1:${port};`)}
}
`,
  );
  await fs.mkdir(path.join(dir, 'nginx-tmp'), { recursive: true });
  const child = spawn(nginx, ['-c', conf, '-p', dir], { stdio: 'ignore' });
  await waitFor(`http://127.0.0.1:${port}/`, child);
  return child;
}

/**
 * deploy/nginx-instances.conf as shipped, with only what a test or benchmark must swap in: the
 * instances' ports, the static export's folder, and (`log`) a log of the instance that answered
 * each proxied request: `METHOD URI UPSTREAM[, UPSTREAM…] STATUS` per line.
 */
export async function instancesServerBlock(instances: number[], staticRoot: string, log?: string): Promise<string> {
  const conf = await fs.readFile(path.resolve(import.meta.dirname, '../../deploy/nginx-instances.conf'), 'utf8');
  const servers = [...conf.matchAll(/^\s*server 127\.0\.0\.1:\d+(.*);$/gm)];
  if (servers.length !== instances.length)
    throw new Error(`deploy/nginx-instances.conf lists ${servers.length} instances, not ${instances.length}`);
  let out = conf.replace('root /srv/metamer/static;', `root ${staticRoot};`);
  for (const [i, m] of servers.entries()) out = out.replace(m[0], `    server 127.0.0.1:${instances[i]}${m[1]};`);
  if (!log) return out;
  out = out.replace('location / {', `location / {\n        access_log ${log} answered;`);
  return `log_format answered '$request_method $uri $upstream_addr $status';\n${out}`;
}

export interface Answered {
  method: string;
  uri: string;
  /** The instances nginx tried, in order (the last one answered). */
  upstreams: string[];
}

export async function answeredBy(log: string): Promise<Answered[]> {
  const text = await fs.readFile(log, 'utf8').catch(() => '');
  return text
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [method, uri, ...rest] = l.split(' ');
      return {
        method: method!,
        uri: uri!,
        upstreams: rest
          .slice(0, -1)
          .join(' ')
          .split(/[, ]+/)
          .filter((u) => u.includes(':')),
      };
    });
}
