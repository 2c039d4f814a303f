//! Writing packs: blobs go to disk as they arrive; the manifest is written at the end (and can be
//! written again at any time, so an interrupted scan still leaves a readable pack of what it collected).

use super::{Digest, EvidenceRecord, Manifest, ProbeRun, RateRecord, ScanInfo, Skipped};
use super::{MANIFEST_FILE, PACK_FORMAT};
use anyhow::{Context, Result};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Builds a pack in a directory.
pub struct PackWriter {
    root: PathBuf,
    scan: ScanInfo,
    probes: Vec<ProbeRun>,
    records: Vec<EvidenceRecord>,
    rates: Vec<RateRecord>,
    skipped: Vec<Skipped>,
}

impl PackWriter {
    /// Creates `root` (which must not exist or be empty) and prepares to write a pack there.
    pub fn create(root: &Path, scan: ScanInfo) -> Result<Self> {
        if root.exists() && fs::read_dir(root)?.next().is_some() {
            anyhow::bail!(
                "{} already exists and is not empty; choose a new --out directory so no evidence is overwritten",
                root.display()
            );
        }
        fs::create_dir_all(root)
            .with_context(|| format!("creating pack directory {}", root.display()))?;
        Ok(Self {
            root: root.to_path_buf(),
            scan,
            probes: Vec::new(),
            records: Vec::new(),
            rates: Vec::new(),
            skipped: Vec::new(),
        })
    }

    /// The pack directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Stores `body` as a blob (if not already present) and returns its digest.
    pub fn put_blob(&self, body: &[u8]) -> Result<Digest> {
        self.blobs().put(body)
    }

    /// A handle that stores blobs without borrowing the writer, so concurrent collectors can hash and
    /// write their answers in parallel and take the writer's lock only to add the record
    /// ([`PackWriter::add_stored_record`]).
    pub fn blobs(&self) -> BlobStore {
        BlobStore {
            root: self.root.clone(),
        }
    }

    /// Stores `body` and adds a record for it. `record.sha256` and `record.size` are filled in here.
    pub fn add_record(&mut self, record: EvidenceRecord, body: &[u8]) -> Result<()> {
        let digest = self.put_blob(body)?;
        self.add_stored_record(record, digest, body.len() as u64);
        Ok(())
    }

    /// Adds a record whose body a [`BlobStore`] of this pack stored as `digest` (`size` bytes).
    pub fn add_stored_record(&mut self, mut record: EvidenceRecord, digest: Digest, size: u64) {
        record.sha256 = digest;
        record.size = size;
        self.records.push(record);
    }

    /// Records the outcome of one probe in one region.
    pub fn add_probe_run(&mut self, run: ProbeRun) {
        self.probes.push(run);
    }

    /// Sets the scan's finishing time (and anything else learnt while scanning).
    pub fn scan_mut(&mut self) -> &mut ScanInfo {
        &mut self.scan
    }

    /// The manifest as it stands, in canonical order (a copy; see [`finish_manifest`](Self::finish_manifest)).
    pub fn manifest(&self) -> Manifest {
        let view = self.view();
        Manifest {
            format: PACK_FORMAT.to_string(),
            created_by: view.created_by,
            scan: self.scan.clone(),
            probes: view.probes.into_iter().cloned().collect(),
            records: view.records.into_iter().cloned().collect(),
            rates: self.rates.clone(),
            skipped: self.skipped.clone(),
        }
    }

    /// The manifest's content by reference, in canonical order.
    fn view(&self) -> ManifestView<'_> {
        let mut probes: Vec<&ProbeRun> = self.probes.iter().collect();
        probes.sort_by(|a, b| (&a.id, &a.region).cmp(&(&b.id, &b.region)));
        let mut records: Vec<&EvidenceRecord> = self.records.iter().collect();
        records.sort_by(record_order);
        ManifestView {
            format: PACK_FORMAT,
            created_by: format!("dengbao {}", env!("CARGO_PKG_VERSION")),
            scan: &self.scan,
            probes,
            records,
            rates: &self.rates,
            skipped: &self.skipped,
        }
    }

    /// Sets what the rate controllers saw and which fan-out items were skipped (in canonical order).
    pub fn set_collection_notes(&mut self, mut rates: Vec<RateRecord>, mut skipped: Vec<Skipped>) {
        rates.sort_by(|a, b| (&a.service, &a.region).cmp(&(&b.service, &b.region)));
        skipped.sort_by(|a, b| {
            (&a.probe, &a.region, &a.reason).cmp(&(&b.probe, &b.region, &b.reason))
        });
        self.rates = rates;
        self.skipped = skipped;
    }

    /// Writes `manifest.json` (atomically, streamed: a large scan's manifest is megabytes and is not
    /// held in memory a second time). Safe to call more than once.
    pub fn write_manifest(&self) -> Result<()> {
        let tmp = self.root.join(".manifest.json.tmp");
        let mut out = std::io::BufWriter::new(
            fs::File::create(&tmp).with_context(|| format!("writing {}", tmp.display()))?,
        );
        serde_json::to_writer_pretty(&mut out, &self.view())?;
        out.write_all(b"\n")?;
        out.into_inner()
            .map_err(|e| e.into_error())?
            .sync_data()
            .ok();
        fs::rename(&tmp, self.root.join(MANIFEST_FILE))?;
        Ok(())
    }

    /// Writes the manifest and hands it over (the records move out of the writer, uncopied); nothing
    /// more should be added afterwards.
    pub fn finish_manifest(&mut self) -> Result<Manifest> {
        self.write_manifest()?;
        self.probes
            .sort_by(|a, b| (&a.id, &a.region).cmp(&(&b.id, &b.region)));
        self.records.sort_by(|a, b| record_order(&a, &b));
        Ok(Manifest {
            format: PACK_FORMAT.to_string(),
            created_by: format!("dengbao {}", env!("CARGO_PKG_VERSION")),
            scan: self.scan.clone(),
            probes: std::mem::take(&mut self.probes),
            records: std::mem::take(&mut self.records),
            rates: self.rates.clone(),
            skipped: self.skipped.clone(),
        })
    }

    /// Writes the manifest and returns it; the pack is complete.
    pub fn finish(mut self) -> Result<Manifest> {
        self.finish_manifest()
    }
}

/// Collection is concurrent; a canonical order makes two packs of the same estate comparable.
fn record_order(a: &&EvidenceRecord, b: &&EvidenceRecord) -> std::cmp::Ordering {
    (&a.probe, &a.region, &a.captured_at, &a.sha256).cmp(&(
        &b.probe,
        &b.region,
        &b.captured_at,
        &b.sha256,
    ))
}

/// [`Manifest`] by reference: the same fields in the same order, so the same bytes.
#[derive(serde::Serialize)]
struct ManifestView<'a> {
    format: &'a str,
    created_by: String,
    scan: &'a ScanInfo,
    probes: Vec<&'a ProbeRun>,
    records: Vec<&'a EvidenceRecord>,
    #[serde(skip_serializing_if = "is_empty")]
    rates: &'a [RateRecord],
    #[serde(skip_serializing_if = "is_empty")]
    skipped: &'a [Skipped],
}

/// A v2 list with nothing in it is left out (the manifest then reads like a v1 one, but for `format`).
fn is_empty<T>(list: &&[T]) -> bool {
    list.is_empty()
}

/// Writes blobs into a pack directory; cheap to clone, usable from many threads at once.
#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
}

impl BlobStore {
    /// Stores `body` as a blob (if not already present) and returns its digest.
    pub fn put(&self, body: &[u8]) -> Result<Digest> {
        let digest = Digest::of(body);
        let hex = digest.hex();
        let path = self.root.join(digest.blob_path());
        if !path.exists() {
            let dir = path.parent().expect("blob path has a parent");
            fs::create_dir_all(dir)?;
            // Write beside, then rename: a crash never leaves a truncated blob under its digest. The
            // temporary name is unique, so two threads storing the same body at once do not write
            // into one file.
            static SEQ: AtomicU64 = AtomicU64::new(0);
            let n = SEQ.fetch_add(1, Ordering::Relaxed);
            let tmp = dir.join(format!(".{hex}.{n}.tmp"));
            let mut f =
                fs::File::create(&tmp).with_context(|| format!("writing {}", tmp.display()))?;
            f.write_all(body)?;
            f.sync_data().ok();
            fs::rename(&tmp, &path)?;
        }
        Ok(digest)
    }
}

/// Copies a pack directory (manifest and every blob it references) to `dest`.
pub fn copy_pack(src: &super::Pack, dest: &Path) -> Result<()> {
    fs::create_dir_all(dest)?;
    for rec in &src.manifest.records {
        let to = dest.join(rec.sha256.blob_path());
        fs::create_dir_all(to.parent().expect("blob path has a parent"))?;
        fs::write(&to, src.blob_bytes(rec)?)?;
    }
    fs::write(dest.join(MANIFEST_FILE), src.manifest_bytes()?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pack::ProbeStatus;

    fn record(probe: &str, region: &str, at: &str) -> EvidenceRecord {
        EvidenceRecord {
            probe: probe.into(),
            provider: "aws".into(),
            partition: "aws-cn".into(),
            account: "1".into(),
            region: region.into(),
            service: "ec2".into(),
            operation: "DescribeVpcs".into(),
            parameters: serde_json::json!({"MaxResults": 1000, "Filter": [{"Name": "x"}]}).into(),
            captured_at: at.into(),
            request_id: Some("r".into()),
            http_status: Some(200),
            media_type: "text/xml".into(),
            sha256: Default::default(),
            size: 0,
            error: None,
        }
    }

    /// The streamed manifest is byte for byte the pretty JSON of the manifest handed over, in
    /// canonical order whatever order collection added records in.
    #[test]
    fn streamed_manifest_is_the_canonical_manifest() {
        let d = tempfile::tempdir().unwrap();
        let scan = ScanInfo {
            provider: "aws".into(),
            partition: "aws-cn".into(),
            accounts: vec!["1".into()],
            regions: vec!["cn-north-1".into(), "cn-northwest-1".into()],
            started_at: "a".into(),
            finished_at: "b".into(),
            sweep: None,
        };
        let mut w = PackWriter::create(d.path(), scan).unwrap();
        for (p, r, at, body) in [
            ("b", "cn-northwest-1", "2", "x"),
            ("a", "cn-north-1", "3", "y"),
            ("b", "cn-north-1", "1", "z"),
            ("a", "cn-north-1", "1", "w"),
        ] {
            w.add_record(record(p, r, at), body.as_bytes()).unwrap();
        }
        for (id, region) in [("b", "cn-north-1"), ("a", "cn-northwest-1")] {
            w.add_probe_run(ProbeRun {
                id: id.into(),
                region: region.into(),
                status: ProbeStatus::Ok,
                records: 1,
                error: None,
            });
        }
        let copy = w.manifest();
        w.write_manifest().unwrap();
        let interim = fs::read(d.path().join(MANIFEST_FILE)).unwrap();
        let m = w.finish().unwrap();
        assert_eq!(m, copy);
        let order: Vec<(&str, &str)> = m
            .records
            .iter()
            .map(|r| (r.probe.as_str(), r.captured_at.as_str()))
            .collect();
        assert_eq!(order, [("a", "1"), ("a", "3"), ("b", "1"), ("b", "2")]);
        let mut expected = serde_json::to_vec_pretty(&m).unwrap();
        expected.push(b'\n');
        assert_eq!(fs::read(d.path().join(MANIFEST_FILE)).unwrap(), expected);
        assert_eq!(interim, expected);
    }
}
