//! Atomic file replacement, and cleanup of the temporary files that killed writers leave.
//!
//! [`write_atomic`] writes the new bytes to a temporary file beside the target, fsyncs it,
//! renames it over the target and fsyncs the directory. Readers therefore see either the
//! complete old file or the complete new one, whatever happens to the writer.
//!
//! A writer killed before its rename (SIGKILL, power loss) leaves its temporary file
//! behind. Temporaries are named `.<target name>.tmp.<pid>.<n>` so they can be found,
//! and each save removes the stale temporaries of its own target first.
//!
//! "Stale" must not catch a concurrent save to the same path that is still running (in
//! another process, or another thread of this one). A process id alone cannot say that:
//! pids are reused (a restarted container often runs its trainer under the same pid)
//! and are not visible across pid namespaces that share a file system. So on Linux each
//! writer holds an exclusive `flock` on its temporary from creation until after the
//! rename. The kernel drops the lock when the writer dies, so a temporary that can be
//! locked is stale. Two races are closed by checking identities (device, inode):
//! - a cleaner may lock a file that a writer created but has not locked yet and remove
//!   it; the writer, once it holds the lock, sees that its path no longer names its file
//!   and starts over under a new name;
//! - a cleaner may open a temporary just before its writer renames it over the target;
//!   it then removes nothing, because the temporary's path no longer names that file.
//!
//! Where `flock` is missing (other systems, or file systems that refuse it) nothing is
//! ever considered stale: leaving a file behind is better than breaking a running save.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

static TMP_COUNTER: AtomicUsize = AtomicUsize::new(0);

/// The prefix of every temporary file written for the target named `file_name`.
pub fn temp_prefix(file_name: &str) -> String {
    format!(".{file_name}.tmp.")
}

/// True when `entry` (a file name in the target's directory) is one of the temporaries
/// [`write_atomic`] names for the target whose prefix is `prefix`: `<prefix><pid>.<n>`.
fn is_temp_name(entry: &str, prefix: &str) -> bool {
    let Some(rest) = entry.strip_prefix(prefix) else {
        return false;
    };
    let mut parts = rest.split('.');
    let digits =
        |s: Option<&str>| s.is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()));
    digits(parts.next()) && digits(parts.next()) && parts.next().is_none()
}

#[cfg(target_os = "linux")]
mod lock {
    use std::fs::File;
    use std::os::unix::fs::MetadataExt;
    use std::os::unix::io::AsRawFd;
    use std::path::Path;

    fn flock(f: &File, op: libc::c_int) -> std::io::Result<()> {
        loop {
            // SAFETY: flock only reads its two integer arguments; the descriptor belongs
            // to `f`, which is borrowed (so open) for the whole call.
            if unsafe { libc::flock(f.as_raw_fd(), op) } == 0 {
                return Ok(());
            }
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }

    /// Takes an exclusive lock on `f`, waiting for a cleaner that holds it (briefly).
    pub fn lock(f: &File) -> std::io::Result<()> {
        flock(f, libc::LOCK_EX)
    }

    /// Tries to take an exclusive lock on `f` without waiting: false if someone holds it
    /// or the file system does not support locks.
    pub fn try_lock(f: &File) -> bool {
        flock(f, libc::LOCK_EX | libc::LOCK_NB).is_ok()
    }

    /// True when `path` still names the file open as `f`.
    pub fn names(path: &Path, f: &File) -> bool {
        match (std::fs::symlink_metadata(path), f.metadata()) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod lock {
    use std::fs::File;
    use std::path::Path;

    pub fn lock(_: &File) -> std::io::Result<()> {
        Ok(())
    }
    pub fn try_lock(_: &File) -> bool {
        false // without locks a running save cannot be told from a dead one
    }
    pub fn names(_: &Path, _: &File) -> bool {
        true
    }
}

/// Removes the stale temporaries of the target `file_name` in `dir` (see the module
/// docs); best effort, errors are ignored. Returns how many were removed.
pub fn remove_stale_temps(dir: &Path, file_name: &str) -> usize {
    let prefix = temp_prefix(file_name);
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_str().is_some_and(|n| is_temp_name(n, &prefix)) {
            continue;
        }
        let path = entry.path();
        let Ok(f) = File::open(&path) else { continue };
        // Held lock: a live writer. Lock taken but the path now names another file (or
        // none): its writer renamed it over the target meanwhile; nothing to remove.
        if lock::try_lock(&f) && lock::names(&path, &f) && std::fs::remove_file(&path).is_ok() {
            removed += 1;
        }
        // Dropping `f` releases the lock; a writer that created this file but had not
        // locked it yet now finds its path gone and retries under a new name.
    }
    removed
}

/// Creates and locks a fresh temporary for the target `file_name` in `dir`.
fn create_temp(dir: &Path, file_name: &str) -> std::io::Result<(File, PathBuf)> {
    let prefix = temp_prefix(file_name);
    let mut last_err = None;
    for _ in 0..64 {
        let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!("{prefix}{}.{n}", std::process::id()));
        let f = match OpenOptions::new().write(true).create_new(true).open(&tmp) {
            // Left by an earlier process with the same pid (pid reuse): next name.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                last_err = Some(e);
                continue;
            }
            r => r?,
        };
        if lock::lock(&f).is_err() {
            // No locks on this file system: cleaners never remove anything here.
            return Ok((f, tmp));
        }
        if lock::names(&tmp, &f) {
            return Ok((f, tmp));
        }
        // A cleaner removed it between our create and lock (see the module docs).
        last_err = Some(std::io::Error::other(
            "temporary file removed by a concurrent save",
        ));
    }
    Err(last_err.unwrap_or_else(|| std::io::Error::other("no temporary file name available")))
}

/// Writes `bytes` to `path` atomically: locked temporary file in the same directory,
/// fsync, rename over `path`, then (best effort) fsync of the directory so that the
/// rename itself is durable. Stale temporaries of `path` are removed first.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("the path names no file"))?
        .to_string_lossy()
        .into_owned();
    remove_stale_temps(&dir, &file_name);
    let (mut f, tmp) = create_temp(&dir, &file_name)?;
    let result = (|| {
        f.write_all(bytes)?;
        f.sync_all()?;
        // Renamed while still locked, so no cleaner can take it for a stale file.
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    drop(f);
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmpdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("fg-atomic-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn listing(d: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn temp_names() {
        let p = temp_prefix("a.st");
        assert!(is_temp_name(".a.st.tmp.123.0", &p));
        assert!(!is_temp_name(".a.st.tmp.123", &p));
        assert!(!is_temp_name(".a.st.tmp.123.0.x", &p));
        assert!(!is_temp_name(".a.st.tmp.12a.0", &p));
        assert!(!is_temp_name(".b.st.tmp.1.0", &p));
        assert!(!is_temp_name("a.st", &p));
    }

    #[test]
    fn replaces_the_target_and_leaves_no_temporary() {
        let d = tmpdir("replace");
        let p = d.join("w.bin");
        write_atomic(&p, b"old").unwrap();
        write_atomic(&p, b"new contents").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"new contents");
        assert_eq!(listing(&d), ["w.bin"]);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn removes_stale_temporaries_but_not_live_ones() {
        let d = tmpdir("stale");
        let p = d.join("w.bin");
        // Left by dead writers: nobody holds their lock.
        std::fs::write(d.join(".w.bin.tmp.999999.0"), b"torn").unwrap();
        std::fs::write(d.join(".w.bin.tmp.1.7"), b"torn").unwrap();
        // A save in progress (here: this process, through another open file): locked.
        let live = d.join(format!(".w.bin.tmp.{}.999", std::process::id()));
        let f = File::create(&live).unwrap();
        lock::lock(&f).unwrap();
        // Not temporaries of this target: never touched.
        for other in [
            ".x.bin.tmp.1.0",
            ".w.bin.tmp.1",
            "w.bin.tmp.1.0",
            "notes.txt",
        ] {
            std::fs::write(d.join(other), b"keep").unwrap();
        }
        write_atomic(&p, b"data").unwrap();
        let mut want = vec![
            ".w.bin.tmp.1".to_string(),
            live.file_name().unwrap().to_str().unwrap().to_string(),
            ".x.bin.tmp.1.0".to_string(),
            "notes.txt".to_string(),
            "w.bin".to_string(),
            "w.bin.tmp.1.0".to_string(),
        ];
        want.sort();
        assert_eq!(listing(&d), want);
        // Once its writer is gone (lock released), the next save removes it.
        drop(f);
        write_atomic(&p, b"data2").unwrap();
        assert!(!live.exists());
        assert_eq!(std::fs::read(&p).unwrap(), b"data2");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn concurrent_saves_to_one_path_all_succeed() {
        let d = tmpdir("concurrent");
        let p = d.join("c.bin");
        std::thread::scope(|s| {
            for t in 0..4u8 {
                let p = &p;
                s.spawn(move || {
                    for _ in 0..25 {
                        write_atomic(p, &[t; 4096]).unwrap();
                    }
                });
            }
        });
        let data = std::fs::read(&p).unwrap();
        assert_eq!(data.len(), 4096);
        assert!(data.iter().all(|&b| b == data[0]));
        assert_eq!(listing(&d), ["c.bin"]);
        std::fs::remove_dir_all(&d).unwrap();
    }
}
