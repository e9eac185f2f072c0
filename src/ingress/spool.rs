//! The webhook door's durable local spool. When PostgreSQL cannot take a
//! verified delivery within a short budget, the delivery (already redacted:
//! exactly what the inbox would hold) is appended here, fsync'd, and the
//! provider gets its 2xx; a drainer moves spooled deliveries into the inbox,
//! deduplicated by the inbox's key, as soon as the database is back.
//!
//! On disk: `<data_dir>/spool/` (mode 0700) holds segment files
//! `seg-<seq>.log` (mode 0600), each a run of records
//! `"HBS1" | payload length (u32 LE) | first 8 bytes of SHA-256(payload) | payload`,
//! the payload a JSON [`OwnedDelivery`] with its body in base64. Appends of
//! concurrent requests share one write and one `fdatasync` (group commit). A
//! record cut short by a crash was never acknowledged and is ignored; a
//! record whose checksum fails keeps its file, renamed `.corrupt`, for an
//! operator. The spool is bounded: past `max_bytes` (or on a disk that cannot
//! be written) a delivery is refused at once and the provider retries.

use crate::store::inbox::{self, OwnedDelivery};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, oneshot, watch};

const MAGIC: &[u8; 4] = b"HBS1";
const HEADER: usize = 16;
/// A segment is sealed past this size (and whenever the drainer takes it).
const SEGMENT_BYTES: u64 = 16 * 1024 * 1024;
/// Most appends written and synced together.
const MAX_GROUP: usize = 512;
/// Deliveries moved into the inbox per statement.
const DRAIN_BATCH: usize = 500;
/// How often the drainer looks for work while the spool holds something.
const DRAIN_EVERY: Duration = Duration::from_millis(200);

#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("the spool is full ({max_bytes} bytes)")]
    Full { max_bytes: u64 },
    #[error("the spool cannot be written: {0}")]
    Io(#[from] std::io::Error),
    #[error("the spool writer stopped")]
    Stopped,
    #[error("another process uses the spool in {0} (give each daemon its own data_dir)")]
    InUse(String),
}

/// A spooled delivery as stored.
#[derive(Serialize, Deserialize)]
struct Stored {
    connector_id: String,
    dedup_key: String,
    event_type: Option<String>,
    headers: serde_json::Value,
    body: String,
    /// Absent in segments spooled before deliveries were keyed: one ordered lane.
    #[serde(default)]
    entity_key: Option<String>,
    /// When it was spooled (milliseconds since the epoch), for the age shown
    /// in `status` and metrics.
    spooled_at_ms: i64,
}

/// The spool's shared handle. Cheap to clone.
#[derive(Clone)]
pub struct Spool {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    /// An exclusive lock on `spool/lock` for as long as this daemon runs: two
    /// daemons never share a spool (the kernel releases it when we die).
    _lock: nix::fcntl::Flock<std::fs::File>,
    max_bytes: u64,
    appends: mpsc::Sender<Append>,
    writer: Mutex<Writer>,
    records: AtomicU64,
    bytes: AtomicU64,
    /// Spool time of the oldest record held (ms since the epoch; 0: none).
    oldest_ms: AtomicI64,
    /// The spool holds something: new deliveries follow into it, so the inbox
    /// receives every connector's deliveries in arrival order.
    active: AtomicBool,
}

struct Append {
    record: Vec<u8>,
    spooled_at_ms: i64,
    done: oneshot::Sender<Result<(), SpoolError>>,
}

struct Writer {
    current: Option<Segment>,
    next_seq: u64,
}

struct Segment {
    file: std::fs::File,
    len: u64,
}

/// Depth and age, for `status` and metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SpoolStats {
    pub records: u64,
    pub bytes: u64,
    pub oldest_age_secs: Option<i64>,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn segment_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("seg-{seq:020}.log"))
}

/// The segment files of `dir`, oldest first.
fn segments(dir: &Path) -> std::io::Result<Vec<(u64, PathBuf)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let seq = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix("seg-")?.strip_suffix(".log"))
            .and_then(|n| n.parse::<u64>().ok());
        if let Some(seq) = seq {
            out.push((seq, path));
        }
    }
    out.sort();
    Ok(out)
}

fn encode(d: &OwnedDelivery, spooled_at_ms: i64) -> Vec<u8> {
    let stored = Stored {
        connector_id: d.connector_id.clone(),
        dedup_key: d.dedup_key.clone(),
        event_type: d.event_type.clone(),
        headers: d.headers.clone(),
        body: base64::engine::general_purpose::STANDARD.encode(&d.body),
        entity_key: d.entity_key.clone(),
        spooled_at_ms,
    };
    let payload = serde_json::to_vec(&stored).unwrap_or_default();
    let mut record = Vec::with_capacity(HEADER + payload.len());
    record.extend_from_slice(MAGIC);
    record.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    record.extend_from_slice(&Sha256::digest(&payload)[..8]);
    record.extend_from_slice(&payload);
    record
}

/// What reading one segment found.
struct SegmentRead {
    deliveries: Vec<(OwnedDelivery, i64)>,
    /// A record failed its checksum with more bytes after it.
    corrupt: bool,
}

fn read_segment(path: &Path) -> std::io::Result<SegmentRead> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?.read_to_end(&mut bytes)?;
    let mut at = 0;
    let mut out = SegmentRead {
        deliveries: Vec::new(),
        corrupt: false,
    };
    while at < bytes.len() {
        let Some(header) = bytes.get(at..at + HEADER) else {
            break; // cut short by a crash: never acknowledged
        };
        let len = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;
        let Some(payload) = bytes.get(at + HEADER..at + HEADER + len) else {
            break; // cut short by a crash
        };
        let decoded = (&header[..4] == MAGIC && Sha256::digest(payload)[..8] == header[8..16])
            .then(|| serde_json::from_slice::<Stored>(payload).ok())
            .flatten()
            .and_then(|s| {
                let body = base64::engine::general_purpose::STANDARD
                    .decode(&s.body)
                    .ok()?;
                Some((
                    OwnedDelivery {
                        connector_id: s.connector_id,
                        dedup_key: s.dedup_key,
                        event_type: s.event_type,
                        headers: s.headers,
                        body,
                        entity_key: s.entity_key,
                    },
                    s.spooled_at_ms,
                ))
            });
        match decoded {
            Some(d) => out.deliveries.push(d),
            None => {
                out.corrupt = at + HEADER + len < bytes.len();
                break;
            }
        }
        at += HEADER + len;
    }
    Ok(out)
}

impl Spool {
    /// Opens (creating) the spool under `data_dir`, counting what a previous
    /// run left in it, and starts its writer.
    pub fn open(data_dir: &Path, max_bytes: u64) -> Result<Spool, SpoolError> {
        // data_dir keeps its own permissions (the managed PostgreSQL's user
        // must traverse it); the spool inside is the daemon's alone.
        std::fs::create_dir_all(data_dir)?;
        let dir = data_dir.join("spool");
        if let Err(e) = std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            if e.kind() != std::io::ErrorKind::AlreadyExists {
                return Err(e.into());
            }
        }
        let lock_file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(dir.join("lock"))?;
        let lock = nix::fcntl::Flock::lock(lock_file, nix::fcntl::FlockArg::LockExclusiveNonblock)
            .map_err(|_| SpoolError::InUse(dir.display().to_string()))?;
        let mut records = 0;
        let mut bytes = 0;
        let mut oldest = 0;
        let mut next_seq = 1;
        for (seq, path) in segments(&dir)? {
            next_seq = next_seq.max(seq + 1);
            let read = read_segment(&path)?;
            records += read.deliveries.len() as u64;
            bytes += std::fs::metadata(&path)?.len();
            if let Some((_, at)) = read.deliveries.first() {
                if oldest == 0 {
                    oldest = *at;
                }
            }
        }
        if records > 0 {
            tracing::info!(
                records,
                bytes,
                "webhook deliveries spooled by an earlier run are waiting for the database"
            );
        }
        let (tx, rx) = mpsc::channel(4 * MAX_GROUP);
        let spool = Spool {
            inner: Arc::new(Inner {
                dir,
                _lock: lock,
                max_bytes,
                appends: tx,
                writer: Mutex::new(Writer {
                    current: None,
                    next_seq,
                }),
                records: AtomicU64::new(records),
                bytes: AtomicU64::new(bytes),
                oldest_ms: AtomicI64::new(oldest),
                active: AtomicBool::new(records > 0),
            }),
        };
        spool.publish();
        tokio::spawn(write_appends(Arc::downgrade(&spool.inner), rx));
        Ok(spool)
    }

    /// Whether the spool holds deliveries the inbox has not received yet.
    pub fn is_active(&self) -> bool {
        self.inner.active.load(Ordering::Acquire)
    }

    pub fn stats(&self) -> SpoolStats {
        let oldest = self.inner.oldest_ms.load(Ordering::Relaxed);
        let records = self.inner.records.load(Ordering::Relaxed);
        SpoolStats {
            records,
            bytes: self.inner.bytes.load(Ordering::Relaxed),
            oldest_age_secs: (records > 0 && oldest > 0).then(|| (now_ms() - oldest) / 1000),
        }
    }

    fn publish(&self) {
        let s = self.stats();
        metrics::gauge!("hirebridge_spool_records").set(s.records as f64);
        metrics::gauge!("hirebridge_spool_bytes").set(s.bytes as f64);
        metrics::gauge!("hirebridge_spool_oldest_seconds")
            .set(s.oldest_age_secs.unwrap_or(0) as f64);
    }

    /// Appends a delivery durably; returns once it is fsync'd (then, and only
    /// then, may it be acknowledged). Refuses at once when the spool is full.
    pub async fn append(&self, delivery: &OwnedDelivery) -> Result<(), SpoolError> {
        let spooled_at_ms = now_ms();
        let record = encode(delivery, spooled_at_ms);
        let size = record.len() as u64;
        let before = self.inner.bytes.fetch_add(size, Ordering::AcqRel);
        if before + size > self.inner.max_bytes {
            self.inner.bytes.fetch_sub(size, Ordering::AcqRel);
            return Err(SpoolError::Full {
                max_bytes: self.inner.max_bytes,
            });
        }
        // From now on, deliveries follow this one into the spool.
        self.inner.active.store(true, Ordering::Release);
        let (done, result) = oneshot::channel();
        let sent = self
            .inner
            .appends
            .send(Append {
                record,
                spooled_at_ms,
                done,
            })
            .await;
        let result = match sent {
            Ok(()) => result.await.unwrap_or(Err(SpoolError::Stopped)),
            Err(_) => Err(SpoolError::Stopped),
        };
        if result.is_err() {
            self.inner.bytes.fetch_sub(size, Ordering::AcqRel);
        }
        result
    }

    /// Writes one group: every record, one `fdatasync`. On failure the
    /// segment is cut back to what was synced (or dropped for a fresh one).
    fn write_group(&self, group: &[Vec<u8>]) -> std::io::Result<()> {
        let mut w = self
            .inner
            .writer
            .lock()
            .map_err(|_| std::io::Error::other("spool writer lock poisoned"))?;
        if w.current.as_ref().is_some_and(|s| s.len >= SEGMENT_BYTES) {
            w.current = None;
        }
        if w.current.is_none() {
            let seq = w.next_seq;
            w.next_seq += 1;
            let file = std::fs::OpenOptions::new()
                .create_new(true)
                .append(true)
                .mode(0o600)
                .open(segment_path(&self.inner.dir, seq))?;
            // The new name must survive a crash too.
            std::fs::File::open(&self.inner.dir)?.sync_all()?;
            w.current = Some(Segment { file, len: 0 });
        }
        let Some(segment) = w.current.as_mut() else {
            return Err(std::io::Error::other("no spool segment"));
        };
        let mut buf = Vec::with_capacity(group.iter().map(Vec::len).sum());
        for r in group {
            buf.extend_from_slice(r);
        }
        let written = segment
            .file
            .write_all(&buf)
            .and_then(|()| segment.file.sync_data());
        match written {
            Ok(()) => {
                segment.len += buf.len() as u64;
                Ok(())
            }
            Err(e) => {
                let synced = segment.len;
                if segment
                    .file
                    .set_len(synced)
                    .and_then(|()| segment.file.sync_data())
                    .is_err()
                {
                    w.current = None;
                }
                Err(e)
            }
        }
    }

    /// Closes the segment being written (so the drainer may take it) and lists
    /// every segment, oldest first.
    fn seal(&self) -> std::io::Result<Vec<PathBuf>> {
        let mut w = self
            .inner
            .writer
            .lock()
            .map_err(|_| std::io::Error::other("spool writer lock poisoned"))?;
        w.current = None;
        Ok(segments(&self.inner.dir)?
            .into_iter()
            .map(|(_, p)| p)
            .collect())
    }

    /// Marks the spool empty if nothing was appended since it was drained
    /// (checked under the writer lock, so no append slips behind).
    fn settle(&self) {
        if let Ok(w) = self.inner.writer.lock() {
            if w.current.is_none() && self.inner.records.load(Ordering::Acquire) == 0 {
                self.inner.active.store(false, Ordering::Release);
                self.inner.oldest_ms.store(0, Ordering::Relaxed);
            }
        }
    }
}

/// The writer task: group-commits appends of concurrent requests. It holds
/// the spool weakly, so it ends (and the lock is let go) with the last handle.
async fn write_appends(spool: std::sync::Weak<Inner>, mut rx: mpsc::Receiver<Append>) {
    while let Some(first) = rx.recv().await {
        let Some(inner) = spool.upgrade() else {
            return;
        };
        let spool = Spool { inner };
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(a) => group.push(a),
                Err(_) => break,
            }
        }
        let records: Vec<Vec<u8>> = group
            .iter_mut()
            .map(|a| std::mem::take(&mut a.record))
            .collect();
        let writer = spool.clone();
        let result = tokio::task::spawn_blocking(move || writer.write_group(&records))
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e.to_string())));
        match result {
            Ok(()) => {
                let n = group.len() as u64;
                let first_at = group.first().map(|a| a.spooled_at_ms).unwrap_or(0);
                let _ = spool.inner.oldest_ms.compare_exchange(
                    0,
                    first_at,
                    Ordering::AcqRel,
                    Ordering::Relaxed,
                );
                spool.inner.records.fetch_add(n, Ordering::AcqRel);
                spool.publish();
                for a in group {
                    let _ = a.done.send(Ok(()));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "writing the webhook spool failed; deliveries are refused with 503");
                let message = e.to_string();
                for a in group {
                    let _ = a
                        .done
                        .send(Err(SpoolError::Io(std::io::Error::other(message.clone()))));
                }
            }
        }
    }
}

/// Moves spooled deliveries into the inbox whenever the spool holds some and
/// the database takes them; a segment is deleted only after all its
/// deliveries are committed (a crash in between stores them again, and the
/// inbox's key keeps one).
pub async fn drain(
    spool: Spool,
    pool: PgPool,
    health: crate::store::health::DbHealth,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(DRAIN_EVERY) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        // Nothing to do, or nobody to give it to (the probe says when).
        if !spool.is_active() || !health.is_up() {
            continue;
        }
        match drain_once(&spool, &pool).await {
            Ok(0) => {}
            Ok(moved) => tracing::info!(moved, "spooled webhook deliveries moved into the inbox"),
            Err(e) => tracing::debug!(error = %e, "the spool waits for the database"),
        }
        spool.settle();
        spool.publish();
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DrainError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// One round: every sealed segment into the inbox. Returns how many
/// deliveries were moved.
pub async fn drain_once(spool: &Spool, pool: &PgPool) -> Result<u64, DrainError> {
    let worker = spool.clone();
    let paths = tokio::task::spawn_blocking(move || worker.seal())
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))??;
    let mut moved = 0;
    for path in paths {
        let file_bytes = std::fs::metadata(&path)?.len();
        let read_path = path.clone();
        let read = tokio::task::spawn_blocking(move || read_segment(&read_path))
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))??;
        for chunk in read.deliveries.chunks(DRAIN_BATCH) {
            let batch: Vec<&OwnedDelivery> = chunk.iter().map(|(d, _)| d).collect();
            inbox::store_batch(pool, &batch).await?;
        }
        if read.corrupt {
            let kept = path.with_extension("corrupt");
            tracing::error!(file = %kept.display(), "a spool segment holds a damaged record; what could be read was stored, the file is kept");
            metrics::counter!("hirebridge_spool_corrupt_total").increment(1);
            std::fs::rename(&path, &kept)?;
        } else {
            std::fs::remove_file(&path)?;
        }
        let n = read.deliveries.len() as u64;
        moved += n;
        spool.inner.records.fetch_sub(
            n.min(spool.inner.records.load(Ordering::Acquire)),
            Ordering::AcqRel,
        );
        spool.inner.bytes.fetch_sub(
            file_bytes.min(spool.inner.bytes.load(Ordering::Acquire)),
            Ordering::AcqRel,
        );
        let next_oldest = read.deliveries.last().map(|(_, at)| *at).unwrap_or(0);
        spool.inner.oldest_ms.store(next_oldest, Ordering::Relaxed);
    }
    Ok(moved)
}

/// Depth and age of the spool under `data_dir` read from disk, for `status`
/// run as its own process.
pub fn stats_on_disk(data_dir: &Path) -> SpoolStats {
    let dir = data_dir.join("spool");
    let Ok(paths) = segments(&dir) else {
        return SpoolStats::default();
    };
    let mut stats = SpoolStats::default();
    let mut oldest = None;
    for (_, path) in paths {
        stats.bytes += std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        if let Ok(read) = read_segment(&path) {
            stats.records += read.deliveries.len() as u64;
            if oldest.is_none() {
                oldest = read.deliveries.first().map(|(_, at)| *at);
            }
        }
    }
    stats.oldest_age_secs = oldest.map(|at| (now_ms() - at) / 1000);
    stats
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn delivery(n: u32) -> OwnedDelivery {
        OwnedDelivery {
            connector_id: "hooks".into(),
            dedup_key: format!("id:{n}"),
            event_type: Some("application.submitted".into()),
            headers: serde_json::json!({"x-webhook-id": n.to_string()}),
            entity_key: None,
            body: format!("{{\"n\":{n}}}").into_bytes(),
        }
    }

    /// Opens the spool once the previous handle's writer task let it go.
    async fn reopen(dir: &Path) -> Spool {
        for _ in 0..200 {
            if let Ok(spool) = Spool::open(dir, 1 << 20) {
                return spool;
            }
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("the spool stayed locked");
    }

    #[tokio::test]
    async fn appends_survive_a_reopen_and_files_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path(), 1 << 20).unwrap();
        for n in 0..5 {
            spool.append(&delivery(n)).await.unwrap();
        }
        assert!(spool.is_active());
        assert_eq!(spool.stats().records, 5);
        let spool_dir = dir.path().join("spool");
        let mode = std::fs::metadata(&spool_dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        for (_, path) in segments(&spool_dir).unwrap() {
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // A crash cut the last record short: it was never acknowledged.
        let (_, last) = segments(&spool_dir).unwrap().pop().unwrap();
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&last)
            .unwrap();
        f.write_all(&encode(&delivery(99), 0)[..20]).unwrap();
        // A second daemon cannot share it; once the first is gone, it reopens.
        assert!(matches!(
            Spool::open(dir.path(), 1 << 20),
            Err(SpoolError::InUse(_))
        ));
        drop(spool);
        let reopened = reopen(dir.path()).await;
        assert_eq!(reopened.stats().records, 5);
        assert_eq!(stats_on_disk(dir.path()).records, 5);
        let read = read_segment(&last).unwrap();
        assert_eq!(read.deliveries.len(), 5);
        assert!(!read.corrupt);
        assert_eq!(read.deliveries[3].0.body, delivery(3).body);
    }

    #[tokio::test]
    async fn a_full_spool_refuses_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let one = encode(&delivery(0), now_ms()).len() as u64;
        let spool = Spool::open(dir.path(), one * 2).unwrap();
        spool.append(&delivery(0)).await.unwrap();
        spool.append(&delivery(1)).await.unwrap();
        assert!(matches!(
            spool.append(&delivery(2)).await,
            Err(SpoolError::Full { .. })
        ));
        assert_eq!(spool.stats().records, 2);
    }

    #[tokio::test]
    async fn a_damaged_record_is_detected_by_its_checksum() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path(), 1 << 20).unwrap();
        for n in 0..3 {
            spool.append(&delivery(n)).await.unwrap();
        }
        let (_, path) = segments(&dir.path().join("spool")).unwrap().pop().unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        let second = encode(&delivery(0), now_ms()).len() + HEADER + 3;
        bytes[second] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        let read = read_segment(&path).unwrap();
        assert_eq!(read.deliveries.len(), 1);
        assert!(read.corrupt);
    }
}
