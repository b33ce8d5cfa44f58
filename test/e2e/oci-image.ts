/**
 * An OCI image archive (an image layout in a tar) of one uncompressed layer, made without a
 * registry or an image tool, for `ctr images import`.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { mustRun } from './tools.js';

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

const GOARCH: Record<string, string> = {
  x64: 'amd64', arm64: 'arm64', ppc64: 'ppc64le', s390x: 's390x',
};

/** Stores `content` as a blob of the layout and returns its descriptor. */
function putBlob(layout: string, mediaType: string, content: Buffer): Descriptor {
  const hex = createHash('sha256').update(content).digest('hex');
  writeFileSync(join(layout, 'blobs', 'sha256', hex), content);
  return { mediaType, digest: `sha256:${hex}`, size: content.length };
}

function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

/**
 * Writes to `archive` an image named `name` whose single layer is the tarball `layerTar`,
 * with PATH set and `sh` as its command.
 */
export function ociArchive(workDir: string, layerTar: string, name: string, archive: string): void {
  const layout = join(workDir, 'oci-layout');
  mkdirSync(join(layout, 'blobs', 'sha256'), { recursive: true });
  writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));

  // Uncompressed, so the layer's digest is also its diff id.
  const layer = putBlob(layout, 'application/vnd.oci.image.layer.v1.tar', readFileSync(layerTar));
  const config = putBlob(layout, 'application/vnd.oci.image.config.v1+json', json({
    architecture: GOARCH[process.arch] ?? process.arch,
    os: 'linux',
    config: {
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      Cmd: ['sh'],
    },
    rootfs: { type: 'layers', diff_ids: [layer.digest] },
  }));
  const manifest = putBlob(layout, 'application/vnd.oci.image.manifest.v1+json', json({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config,
    layers: [layer],
  }));
  writeFileSync(join(layout, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    manifests: [{ ...manifest, annotations: { 'io.containerd.image.name': name } }],
  }));

  mustRun('tar', ['-C', layout, '-cf', archive, 'oci-layout', 'index.json', 'blobs']);
}
