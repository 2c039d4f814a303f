//! A pack is a closed world: every file of it is opened beneath its directory, never through a link.
//!
//! Every reader of pack content goes through [`ClosedDir`]: `manifest.json`, the blobs, and any later
//! section (assessment attachments, …). A pack comes from someone else, and a symbolic link planted
//! in it (a blob, `blobs/`, `blobs/sha256/ab/`, the manifest) would make dengbao read, hash and embed
//! in a report a file of the person checking it (`~/.aws/credentials`). So:
//!
//! * the pack directory itself is opened once, as the user named it ([`ClosedDir::open`]);
//! * a path beneath it is a `/`-separated relative path of plain names (no `..`, no `.`, no empty or
//!   absolute part), checked before any system call ([`ClosedError`] `BadPath` otherwise);
//! * its directories are opened with `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
//!   RESOLVE_NO_MAGICLINKS)` where the kernel has it (Linux 5.6), else one component at a time with
//!   `openat(O_NOFOLLOW | O_DIRECTORY)`; a link anywhere is refused, and named;
//! * the last component is opened relative to its directory without following a link; the opened
//!   descriptor is `fstat`ed and must be a regular file (never `stat` first, then `open`). On Linux it
//!   is first opened `O_PATH`, so a device or FIFO where a file should be is refused without being
//!   opened for reading; everywhere it is opened `O_NONBLOCK`, so a FIFO cannot hang the reader;
//! * reads are bounded: [`ClosedDir::read`] takes a limit, checked against the descriptor's size
//!   before reading and again while reading.
//!
//! # API
//!
//! ```no_run
//! # use dengbao::pack::closed::{ClosedDir, EntryKind};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let pack = ClosedDir::open(std::path::Path::new("out/pack"))?;
//! let manifest = pack.read("manifest.json", 256 << 20)?;       // Vec<u8>, at most the limit
//! let file = pack.open_file("assessment/notes.pdf")?;            // std::fs::File, a regular file
//! for entry in pack.list("assessment")? {                         // one directory, not followed
//!     if entry.kind != EntryKind::File { /* a link, directory, FIFO… */ }
//! }
//! let every = pack.walk()?;                                       // (path, kind) of everything beneath
//! let sub = pack.subdir("assessment")?;                           // a ClosedDir rooted beneath
//! # Ok(()) }
//! ```
//!
//! Errors are [`ClosedError`]s: the relative path asked for, the path as shown to people, and a
//! [`Refusal`] saying what was wrong (`NotFound`, `Link { at }` naming the linked component,
//! `NotRegular(kind)`, `NotDirectory { at }`, `BadPath`, `TooLarge`, or an I/O error).
//!
//! On platforms without `openat` (not Unix) the same checks are made with `symlink_metadata` before
//! opening, which a process racing the reader could defeat; dengbao's supported platforms are Unix.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

/// What kind of entry a directory holds, read without following links.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EntryKind {
    File,
    Dir,
    Link,
    /// A FIFO, socket, device or unknown entry: its kind in words (`FIFO`, `socket`, …).
    Other(&'static str),
}

impl EntryKind {
    /// The kind in words, as problems name it.
    pub fn describe(self) -> &'static str {
        match self {
            EntryKind::File => "regular file",
            EntryKind::Dir => "directory",
            EntryKind::Link => "symbolic link",
            EntryKind::Other(k) => k,
        }
    }
}

/// One entry of a directory: its name (lossily UTF-8) and kind.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Entry {
    pub name: String,
    pub kind: EntryKind,
}

/// Why a path beneath a [`ClosedDir`] was refused.
#[derive(Debug)]
pub enum Refusal {
    NotFound,
    /// `at` (a relative path: the asked path or one of its parents) is a symbolic link.
    Link {
        at: String,
    },
    /// The entry is not a regular file: what it is instead.
    NotRegular(&'static str),
    /// `at` is not a directory, but a path goes through it.
    NotDirectory {
        at: String,
    },
    /// The path is not a plain relative path beneath the directory.
    BadPath,
    TooLarge {
        size: u64,
        limit: u64,
    },
    Io(std::io::Error),
}

/// A refused path: what was asked for, and why it was refused.
#[derive(Debug)]
pub struct ClosedError {
    /// The path asked for, relative to the [`ClosedDir`].
    pub rel: String,
    /// The path as shown to people (`PACK/blobs/…`).
    pub shown: String,
    pub refusal: Refusal,
}

impl ClosedError {
    /// True when nothing is at the path (the only refusal a reader may treat as "absent").
    pub fn is_not_found(&self) -> bool {
        matches!(self.refusal, Refusal::NotFound)
    }
}

impl fmt::Display for ClosedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = &self.shown;
        match &self.refusal {
            Refusal::NotFound => write!(f, "{shown}: not found"),
            Refusal::Link { at } if *at == self.rel => write!(
                f,
                "{shown} is a symbolic link: a pack's files are never read through links"
            ),
            Refusal::Link { at } => write!(
                f,
                "{shown}: {at} is a symbolic link: a pack's files are never read through links"
            ),
            Refusal::NotRegular(kind) => write!(f, "{shown} is a {kind}, not a regular file"),
            Refusal::NotDirectory { at } => write!(f, "{shown}: {at} is not a directory"),
            Refusal::BadPath => write!(
                f,
                "{shown}: not a plain relative path beneath the pack (no `..`, `.`, empty or absolute parts)"
            ),
            Refusal::TooLarge { size, limit } => write!(
                f,
                "{shown} is {size} bytes, over the limit of {}",
                crate::limits::bytes(*limit)
            ),
            Refusal::Io(e) => write!(f, "{shown}: {e}"),
        }
    }
}

impl std::error::Error for ClosedError {}

/// A directory opened once; everything beneath it is opened relative to it, without following links.
#[derive(Debug)]
pub struct ClosedDir {
    handle: sys::Handle,
    shown: PathBuf,
}

impl ClosedDir {
    /// Opens the directory `path` (as the user named it: links in `path` itself are followed).
    pub fn open(path: &Path) -> Result<Self, ClosedError> {
        let err = |refusal| ClosedError {
            rel: String::new(),
            shown: path.display().to_string(),
            refusal,
        };
        let handle = sys::Handle::open_root(path).map_err(|e| {
            err(match e.kind() {
                std::io::ErrorKind::NotFound => Refusal::NotFound,
                _ if path.is_file() => Refusal::NotRegular("file, not a directory"),
                _ => Refusal::Io(e),
            })
        })?;
        Ok(Self {
            handle,
            shown: path.to_path_buf(),
        })
    }

    /// The directory as the user named it.
    pub fn path(&self) -> &Path {
        &self.shown
    }

    /// The directory `rel` beneath this one, as a [`ClosedDir`] of its own.
    pub fn subdir(&self, rel: &str) -> Result<Self, ClosedError> {
        let parts = self.parts(rel)?;
        let handle = self.handle.dir(&parts).map_err(|r| self.error(rel, r))?;
        Ok(Self {
            handle,
            shown: self.shown.join(rel),
        })
    }

    /// Opens the regular file `rel` for reading.
    pub fn open_file(&self, rel: &str) -> Result<std::fs::File, ClosedError> {
        let parts = self.parts(rel)?;
        let (name, dirs) = parts
            .split_last()
            .ok_or_else(|| self.error(rel, Refusal::BadPath))?;
        let parent = self.handle.dir(dirs).map_err(|r| self.error(rel, r))?;
        parent.file(name, rel).map_err(|r| self.error(rel, r))
    }

    /// The bytes of the regular file `rel`, refused when it is larger than `limit` bytes.
    pub fn read(&self, rel: &str, limit: u64) -> Result<Vec<u8>, ClosedError> {
        let file = self.open_file(rel)?;
        let io = |e| self.error(rel, Refusal::Io(e));
        let size = file.metadata().map_err(io)?.len();
        if size > limit {
            return Err(self.error(rel, Refusal::TooLarge { size, limit }));
        }
        let mut bytes = Vec::with_capacity(size as usize);
        file.take(limit + 1).read_to_end(&mut bytes).map_err(io)?;
        if bytes.len() as u64 > limit {
            let size = bytes.len() as u64;
            return Err(self.error(rel, Refusal::TooLarge { size, limit }));
        }
        Ok(bytes)
    }

    /// The entries of the directory `rel` (`""` for this one), sorted by name; links are listed as
    /// links, not followed.
    pub fn list(&self, rel: &str) -> Result<Vec<Entry>, ClosedError> {
        let parts = if rel.is_empty() {
            Vec::new()
        } else {
            self.parts(rel)?
        };
        let dir = self.handle.dir(&parts).map_err(|r| self.error(rel, r))?;
        let mut entries = dir.entries().map_err(|e| self.error(rel, Refusal::Io(e)))?;
        entries.sort();
        Ok(entries)
    }

    /// Every entry beneath this directory, depth first in name order, as (relative path, kind).
    /// Directories are listed and entered; links and other entries are listed and not followed.
    pub fn walk(&self) -> Result<Vec<(String, EntryKind)>, ClosedError> {
        let mut out = Vec::new();
        // An explicit stack: the depth of a directory tree costs no recursion.
        let mut pending = vec![String::new()];
        while let Some(dir) = pending.pop() {
            let mut subdirs = Vec::new();
            for e in self.list(&dir)? {
                let rel = if dir.is_empty() {
                    e.name.clone()
                } else {
                    format!("{dir}/{}", e.name)
                };
                if e.kind == EntryKind::Dir {
                    subdirs.push(rel.clone());
                }
                out.push((rel, e.kind));
            }
            pending.extend(subdirs.into_iter().rev());
        }
        out.sort();
        Ok(out)
    }

    /// `rel` split into plain names; refused unless each part is one.
    fn parts<'r>(&self, rel: &'r str) -> Result<Vec<&'r str>, ClosedError> {
        let parts: Vec<&str> = rel.split('/').collect();
        let plain = |p: &&str| !p.is_empty() && *p != "." && *p != ".." && !p.contains('\0');
        if parts.iter().all(plain) {
            Ok(parts)
        } else {
            Err(self.error(rel, Refusal::BadPath))
        }
    }

    fn error(&self, rel: &str, refusal: Refusal) -> ClosedError {
        ClosedError {
            rel: rel.to_string(),
            shown: self.shown.join(rel).display().to_string(),
            refusal,
        }
    }
}

#[cfg(unix)]
mod sys {
    //! `openat2` / `openat` through rustix.
    use super::{Entry, EntryKind, Refusal};
    use rustix::fd::{AsFd, OwnedFd};
    use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags};
    use rustix::io::Errno;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// An open directory.
    #[derive(Debug)]
    pub(super) struct Handle(OwnedFd);

    /// Set once `openat2` turned out to be missing (ENOSYS) or filtered (EPERM, some sandboxes).
    static NO_OPENAT2: AtomicBool = AtomicBool::new(false);

    const DIR_FLAGS: OFlags = OFlags::RDONLY
        .union(OFlags::DIRECTORY)
        .union(OFlags::CLOEXEC)
        .union(OFlags::NOCTTY);

    fn kind_of(ft: FileType) -> EntryKind {
        match ft {
            FileType::RegularFile => EntryKind::File,
            FileType::Directory => EntryKind::Dir,
            FileType::Symlink => EntryKind::Link,
            FileType::Fifo => EntryKind::Other("FIFO"),
            FileType::Socket => EntryKind::Other("socket"),
            FileType::CharacterDevice => EntryKind::Other("character device"),
            FileType::BlockDevice => EntryKind::Other("block device"),
            FileType::Unknown => EntryKind::Other("file of unknown type"),
        }
    }

    fn refusal_of_kind(kind: EntryKind, at: String) -> Refusal {
        match kind {
            EntryKind::Link => Refusal::Link { at },
            other => Refusal::NotRegular(other.describe()),
        }
    }

    impl Handle {
        pub(super) fn open_root(path: &std::path::Path) -> std::io::Result<Self> {
            Ok(Handle(rfs::open(path, DIR_FLAGS, Mode::empty())?))
        }

        /// The directory `parts` beneath this one (this one again when `parts` is empty).
        pub(super) fn dir(&self, parts: &[&str]) -> Result<Handle, Refusal> {
            if parts.is_empty() {
                return rfs::openat(&self.0, ".", DIR_FLAGS, Mode::empty())
                    .map(Handle)
                    .map_err(|e| Refusal::Io(e.into()));
            }
            #[cfg(any(target_os = "linux", target_os = "android"))]
            if !NO_OPENAT2.load(Ordering::Relaxed) {
                use rfs::ResolveFlags;
                let how =
                    ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS;
                match rfs::openat2(&self.0, parts.join("/"), DIR_FLAGS, Mode::empty(), how) {
                    Ok(fd) => return Ok(Handle(fd)),
                    Err(Errno::NOENT) => return Err(Refusal::NotFound),
                    Err(Errno::NOSYS) | Err(Errno::PERM) => {
                        NO_OPENAT2.store(true, Ordering::Relaxed)
                    }
                    // A link or a non-directory somewhere: the walk below names it.
                    Err(_) => {}
                }
            }
            self.walk(parts)
        }

        /// One component at a time, never following a link.
        pub(super) fn walk(&self, parts: &[&str]) -> Result<Handle, Refusal> {
            let mut cur: Option<OwnedFd> = None;
            for (n, part) in parts.iter().enumerate() {
                let at = || parts[..=n].join("/");
                let base = cur.as_ref().map_or(self.0.as_fd(), |f| f.as_fd());
                match rfs::openat(base, *part, DIR_FLAGS | OFlags::NOFOLLOW, Mode::empty()) {
                    Ok(fd) => cur = Some(fd),
                    Err(Errno::NOENT) => return Err(Refusal::NotFound),
                    Err(e @ (Errno::LOOP | Errno::NOTDIR)) => {
                        // Only to say what is in the way: nothing is opened on the strength of it.
                        return Err(match rfs::statat(base, *part, AtFlags::SYMLINK_NOFOLLOW) {
                            Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Symlink => {
                                Refusal::Link { at: at() }
                            }
                            Ok(_) => Refusal::NotDirectory { at: at() },
                            Err(_) => Refusal::Io(e.into()),
                        });
                    }
                    Err(e) => return Err(Refusal::Io(e.into())),
                }
            }
            Ok(Handle(cur.expect("parts is not empty")))
        }

        /// Opens `name` in this directory for reading; it must be a regular file. `rel` names it in
        /// refusals.
        pub(super) fn file(&self, name: &str, rel: &str) -> Result<std::fs::File, Refusal> {
            // Look first through an O_PATH descriptor, which opens nothing for reading: a device or
            // FIFO is refused without its driver being asked.
            #[cfg(any(target_os = "linux", target_os = "android"))]
            let probe = {
                let flags = OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC;
                let fd = rfs::openat(&self.0, name, flags, Mode::empty()).map_err(not_found)?;
                let st = rfs::fstat(&fd).map_err(|e| Refusal::Io(e.into()))?;
                let kind = kind_of(FileType::from_raw_mode(st.st_mode));
                if kind != EntryKind::File {
                    return Err(refusal_of_kind(kind, rel.to_string()));
                }
                Some((st.st_dev, st.st_ino))
            };
            #[cfg(not(any(target_os = "linux", target_os = "android")))]
            let probe: Option<(u64, u64)> = None;
            let flags = OFlags::RDONLY
                | OFlags::NOFOLLOW
                | OFlags::NONBLOCK
                | OFlags::NOCTTY
                | OFlags::CLOEXEC;
            let fd = match rfs::openat(&self.0, name, flags, Mode::empty()) {
                Err(Errno::LOOP) => {
                    return Err(Refusal::Link {
                        at: rel.to_string(),
                    })
                }
                other => other.map_err(not_found)?,
            };
            let st = rfs::fstat(&fd).map_err(|e| Refusal::Io(e.into()))?;
            let kind = kind_of(FileType::from_raw_mode(st.st_mode));
            if kind != EntryKind::File {
                return Err(refusal_of_kind(kind, rel.to_string()));
            }
            #[allow(clippy::unnecessary_cast)] // dev_t and ino_t differ in width across platforms
            if probe.is_some_and(|p| p != (st.st_dev as _, st.st_ino as _)) {
                return Err(Refusal::Io(std::io::Error::other(
                    "replaced by another file while it was being opened",
                )));
            }
            Ok(std::fs::File::from(fd))
        }

        /// The entries of this directory, unsorted, without `.` and `..`.
        pub(super) fn entries(&self) -> std::io::Result<Vec<Entry>> {
            let fd = rfs::openat(&self.0, ".", DIR_FLAGS, Mode::empty())?;
            let mut out = Vec::new();
            for e in rfs::Dir::new(fd)? {
                let e = e?;
                let name = e.file_name().to_bytes();
                if name == b"." || name == b".." {
                    continue;
                }
                let kind = match e.file_type() {
                    // Some file systems do not say in the listing: ask, without following.
                    FileType::Unknown => {
                        rfs::statat(&self.0, e.file_name(), AtFlags::SYMLINK_NOFOLLOW)
                            .map(|st| kind_of(FileType::from_raw_mode(st.st_mode)))?
                    }
                    ft => kind_of(ft),
                };
                out.push(Entry {
                    name: String::from_utf8_lossy(name).into_owned(),
                    kind,
                });
            }
            Ok(out)
        }
    }

    fn not_found(e: Errno) -> Refusal {
        match e {
            Errno::NOENT => Refusal::NotFound,
            e => Refusal::Io(e.into()),
        }
    }
}

#[cfg(not(unix))]
mod sys {
    //! Without `openat`: the same checks by path, with `symlink_metadata` before each open.
    use super::{Entry, EntryKind, Refusal};
    use std::path::{Path, PathBuf};

    #[derive(Debug)]
    pub(super) struct Handle(PathBuf);

    fn kind(p: &Path) -> Result<EntryKind, Refusal> {
        match std::fs::symlink_metadata(p) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Refusal::NotFound),
            Err(e) => Err(Refusal::Io(e)),
            Ok(m) if m.file_type().is_symlink() => Ok(EntryKind::Link),
            Ok(m) if m.is_dir() => Ok(EntryKind::Dir),
            Ok(m) if m.is_file() => Ok(EntryKind::File),
            Ok(_) => Ok(EntryKind::Other("special file")),
        }
    }

    impl Handle {
        pub(super) fn open_root(path: &Path) -> std::io::Result<Self> {
            std::fs::read_dir(path)?;
            Ok(Handle(path.to_path_buf()))
        }

        pub(super) fn dir(&self, parts: &[&str]) -> Result<Handle, Refusal> {
            let mut p = self.0.clone();
            for (n, part) in parts.iter().enumerate() {
                p.push(part);
                match kind(&p)? {
                    EntryKind::Dir => {}
                    EntryKind::Link => {
                        return Err(Refusal::Link {
                            at: parts[..=n].join("/"),
                        })
                    }
                    _ => {
                        return Err(Refusal::NotDirectory {
                            at: parts[..=n].join("/"),
                        })
                    }
                }
            }
            Ok(Handle(p))
        }

        pub(super) fn file(&self, name: &str, rel: &str) -> Result<std::fs::File, Refusal> {
            let p = self.0.join(name);
            match kind(&p)? {
                EntryKind::File => std::fs::File::open(&p).map_err(Refusal::Io),
                EntryKind::Link => Err(Refusal::Link {
                    at: rel.to_string(),
                }),
                other => Err(Refusal::NotRegular(other.describe())),
            }
        }

        pub(super) fn entries(&self) -> std::io::Result<Vec<Entry>> {
            let mut out = Vec::new();
            for e in std::fs::read_dir(&self.0)? {
                let e = e?;
                out.push(Entry {
                    name: e.file_name().to_string_lossy().into_owned(),
                    kind: kind(&e.path()).unwrap_or(EntryKind::Other("unreadable entry")),
                });
            }
            Ok(out)
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn tree() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("pack/a/b")).unwrap();
        std::fs::write(d.path().join("pack/a/b/f"), "inside").unwrap();
        std::fs::write(d.path().join("outside"), "secret").unwrap();
        d
    }

    #[test]
    fn reads_regular_files_beneath() {
        let d = tree();
        let c = ClosedDir::open(&d.path().join("pack")).unwrap();
        assert_eq!(c.read("a/b/f", 100).unwrap(), b"inside");
        let e = c.read("a/b/f", 3).unwrap_err();
        assert!(
            matches!(e.refusal, Refusal::TooLarge { size: 6, limit: 3 }),
            "{e}"
        );
        assert!(c.read("a/b/nope", 100).unwrap_err().is_not_found());
        for bad in [
            "../outside",
            "/etc/passwd",
            "a//b/f",
            "a/./b/f",
            "",
            "a/b/f/",
        ] {
            let e = c.read(bad, 100).unwrap_err();
            assert!(matches!(e.refusal, Refusal::BadPath), "{bad}: {e}");
        }
        assert_eq!(
            c.walk().unwrap(),
            vec![
                ("a".to_string(), EntryKind::Dir),
                ("a/b".to_string(), EntryKind::Dir),
                ("a/b/f".to_string(), EntryKind::File)
            ]
        );
    }

    #[test]
    fn links_anywhere_are_refused_and_named() {
        let d = tree();
        let root = d.path().join("pack");
        symlink(d.path().join("outside"), root.join("a/b/l")).unwrap();
        symlink(root.join("a/b"), root.join("a/lb")).unwrap();
        symlink(d.path(), root.join("up")).unwrap();
        let c = ClosedDir::open(&root).unwrap();
        let e = c.read("a/b/l", 100).unwrap_err();
        assert!(
            matches!(&e.refusal, Refusal::Link { at } if at == "a/b/l"),
            "{e}"
        );
        let e = c.read("a/lb/f", 100).unwrap_err();
        assert!(
            matches!(&e.refusal, Refusal::Link { at } if at == "a/lb"),
            "{e}"
        );
        assert!(e.to_string().contains("a/lb is a symbolic link"), "{e}");
        let e = c.read("up/outside", 100).unwrap_err();
        assert!(
            matches!(&e.refusal, Refusal::Link { at } if at == "up"),
            "{e}"
        );
        let e = c.read("a/b/f/x", 100).unwrap_err();
        assert!(
            matches!(&e.refusal, Refusal::NotDirectory { at } if at == "a/b/f"),
            "{e}"
        );
        let e = c.read("a", 100).unwrap_err();
        assert!(matches!(e.refusal, Refusal::NotRegular("directory")), "{e}");
        let kinds: Vec<_> = c.walk().unwrap();
        assert!(kinds.contains(&("a/lb".into(), EntryKind::Link)));
        assert!(kinds.contains(&("up".into(), EntryKind::Link)));
        assert!(
            !kinds.iter().any(|(p, _)| p.starts_with("up/")),
            "links are not entered"
        );
    }

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let d = tree();
        let root = d.path().join("pack");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            root.join("a/fifo"),
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let c = ClosedDir::open(&root).unwrap();
        let e = c.read("a/fifo", 100).unwrap_err();
        assert!(matches!(e.refusal, Refusal::NotRegular("FIFO")), "{e}");
    }

    #[test]
    fn the_walk_without_openat2_refuses_the_same() {
        let d = tree();
        let root = d.path().join("pack");
        symlink(root.join("a/b"), root.join("a/lb")).unwrap();
        let c = ClosedDir::open(&root).unwrap();
        let e = c.handle.walk(&["a", "lb"]).unwrap_err();
        assert!(matches!(&e, Refusal::Link { at } if at == "a/lb"), "{e:?}");
        assert!(c.handle.walk(&["a", "b"]).is_ok());
    }
}
