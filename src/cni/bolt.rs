//! A small, read-only reader of BoltDB (bbolt) files, enough to list the buckets and keys of
//! podman's netavark IPAM database (`/run/containers/networks/ipam.db`).
//!
//! The file is treated as untrusted input: every offset is checked against the bytes read,
//! every page is visited at most once (a page that points back at an ancestor is a cycle,
//! not an infinite loop), and the walk stops after [`MAX_PAGES`] pages or [`MAX_ENTRIES`]
//! entries. Nothing here panics or allocates more than a small multiple of the file.
//!
//! Format (bbolt 1.3, `page.go` / `db.go`): pages of `page_size` bytes; a page starts with a
//! 16-byte header (id u64, flags u16, count u16, overflow u32), all little-endian on the
//! platforms podman runs on. Pages 0 and 1 are meta pages (magic `0xED0CDAED`, version 2,
//! page size, root bucket, txid, FNV-1a checksum); the newer valid one is current. Branch
//! pages hold `count` elements (pos u32, ksize u32, pgid u64), leaf pages (flags u32, pos
//! u32, ksize u32, vsize u32), `pos` counted from the element itself. A leaf value flagged
//! as a bucket starts with the bucket header (root pgid u64, sequence u64); root 0 means an
//! inline bucket whose page follows the header inside the value.

use std::collections::HashSet;

pub const MAGIC: u32 = 0xED0C_DAED;
pub const VERSION: u32 = 2;
const PAGE_HEADER: usize = 16;
const ELEMENT: usize = 16;
const BRANCH: u16 = 0x01;
const LEAF: u16 = 0x02;
const BUCKET_LEAF_FLAG: u32 = 0x01;
/// A walk visits at most this many pages (podman's IPAM database of a busy host has a few).
pub const MAX_PAGES: usize = 65_536;
/// And returns at most this many entries per bucket.
pub const MAX_ENTRIES: usize = 1 << 20;

/// One key of a bucket: a value, or a nested bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<'a> {
    pub key: &'a [u8],
    pub value: &'a [u8],
    pub is_bucket: bool,
}

/// Where a bucket's B+tree is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket<'a> {
    /// Rooted at this page.
    Page(u64),
    /// Stored inside its parent's leaf value (a page header, elements and data).
    Inline(&'a [u8]),
}

/// An opened database: the file's bytes and its current meta page.
#[derive(Debug, Clone)]
pub struct Db<'a> {
    data: &'a [u8],
    page_size: usize,
    root: u64,
    pub txid: u64,
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(
        b.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        b.get(at..at.checked_add(8)?)?.try_into().ok()?,
    ))
}

/// FNV-1a, 64 bit: bbolt's meta checksum.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// (page size, root pgid, txid) of the meta page at `at`, when it is valid.
fn meta_at(data: &[u8], at: usize) -> Option<(usize, u64, u64)> {
    let m = at.checked_add(PAGE_HEADER)?;
    let body = data.get(m..m.checked_add(64)?)?;
    if u32_at(body, 0)? != MAGIC || u32_at(body, 4)? != VERSION {
        return None;
    }
    if fnv1a(&body[..56]) != u64_at(body, 56)? {
        return None;
    }
    let page_size = u32_at(body, 8)? as usize;
    if !(512..=65_536).contains(&page_size) || !page_size.is_power_of_two() {
        return None;
    }
    Some((page_size, u64_at(body, 16)?, u64_at(body, 48)?))
}

impl<'a> Db<'a> {
    /// Checks the meta pages and picks the current one (the valid one with the higher txid).
    pub fn open(data: &'a [u8]) -> Result<Db<'a>, String> {
        let first = meta_at(data, 0);
        // The second meta page sits one page further; with the first one damaged, bbolt
        // falls back to the usual 4096-byte page.
        let second = meta_at(data, first.map_or(4096, |m| m.0));
        let (page_size, root, txid) = match (first, second) {
            (Some(a), Some(b)) => {
                if b.2 > a.2 {
                    b
                } else {
                    a
                }
            }
            (Some(m), None) | (None, Some(m)) => m,
            (None, None) => return Err("not a BoltDB file (no valid meta page)".into()),
        };
        Ok(Db {
            data,
            page_size,
            root,
            txid,
        })
    }

    /// The top-level bucket.
    pub fn root(&self) -> Bucket<'a> {
        Bucket::Page(self.root)
    }

    /// The bytes of page `pgid`, with its overflow pages.
    fn page(&self, pgid: u64) -> Result<&'a [u8], String> {
        let bad = || format!("page {pgid} lies outside the file");
        let start = usize::try_from(pgid)
            .ok()
            .and_then(|p| p.checked_mul(self.page_size))
            .ok_or_else(bad)?;
        let overflow = u32_at(self.data, start.checked_add(12).ok_or_else(bad)?).ok_or_else(bad)?;
        let len = (overflow as usize)
            .checked_add(1)
            .and_then(|n| n.checked_mul(self.page_size))
            .ok_or_else(bad)?;
        self.data
            .get(start..start.checked_add(len).ok_or_else(bad)?)
            .ok_or_else(bad)
    }

    /// Every entry of `bucket`, in key order.
    pub fn entries(&self, bucket: Bucket<'a>) -> Result<Vec<Entry<'a>>, String> {
        let mut out = Vec::new();
        match bucket {
            Bucket::Inline(page) => leaf(page, &mut out)?,
            Bucket::Page(root) => {
                let mut seen = HashSet::new();
                let mut stack = vec![root];
                while let Some(pgid) = stack.pop() {
                    if !seen.insert(pgid) {
                        return Err(format!(
                            "page {pgid} is reached twice: the tree has a cycle"
                        ));
                    }
                    if seen.len() > MAX_PAGES {
                        return Err(format!("more than {MAX_PAGES} pages in one bucket"));
                    }
                    let page = self.page(pgid)?;
                    let flags = u16_at(page, 8).unwrap_or(0);
                    if flags & BRANCH != 0 {
                        let mut children = branch(page)?;
                        // Pushed in reverse so the leftmost child is walked first.
                        children.reverse();
                        stack.extend(children);
                    } else if flags & LEAF != 0 {
                        leaf(page, &mut out)?;
                    } else {
                        return Err(format!("page {pgid} is neither a branch nor a leaf"));
                    }
                    if out.len() > MAX_ENTRIES {
                        return Err(format!("more than {MAX_ENTRIES} entries in one bucket"));
                    }
                }
            }
        }
        Ok(out)
    }

    /// The nested bucket `name` among `entries`.
    pub fn bucket(entries: &[Entry<'a>], name: &[u8]) -> Option<Bucket<'a>> {
        let e = entries.iter().find(|e| e.is_bucket && e.key == name)?;
        nested(e)
    }
}

/// The bucket an entry flagged as a bucket points to.
pub fn nested<'a>(e: &Entry<'a>) -> Option<Bucket<'a>> {
    if !e.is_bucket {
        return None;
    }
    match u64_at(e.value, 0)? {
        0 => Some(Bucket::Inline(e.value.get(PAGE_HEADER..)?)),
        root => Some(Bucket::Page(root)),
    }
}

/// `count` elements of a page, each checked to lie inside it.
fn elements(page: &[u8]) -> Result<usize, String> {
    let count = usize::from(u16_at(page, 10).ok_or("truncated page header")?);
    if PAGE_HEADER + count * ELEMENT > page.len() {
        return Err(format!("a page claims {count} elements but is too short"));
    }
    Ok(count)
}

fn branch(page: &[u8]) -> Result<Vec<u64>, String> {
    (0..elements(page)?)
        .map(|i| u64_at(page, PAGE_HEADER + i * ELEMENT + 8).ok_or_else(|| "truncated".into()))
        .collect()
}

fn leaf<'a>(page: &'a [u8], out: &mut Vec<Entry<'a>>) -> Result<(), String> {
    if u16_at(page, 8).is_some_and(|f| f & LEAF == 0) {
        return Err("an inline bucket that is not a leaf page".into());
    }
    for i in 0..elements(page)? {
        let at = PAGE_HEADER + i * ELEMENT;
        let field = |n: usize| u32_at(page, at + 4 * n).map(|v| v as usize);
        let (Some(flags), Some(pos), Some(ksize), Some(vsize)) =
            (field(0), field(1), field(2), field(3))
        else {
            return Err("truncated leaf element".into());
        };
        let key_at = at.checked_add(pos).ok_or("bad key position")?;
        let val_at = key_at.checked_add(ksize).ok_or("bad key size")?;
        let end = val_at.checked_add(vsize).ok_or("bad value size")?;
        let (Some(key), Some(value)) = (page.get(key_at..val_at), page.get(val_at..end)) else {
            return Err(format!("leaf element {i} points outside its page"));
        };
        out.push(Entry {
            key,
            value,
            is_bucket: flags & BUCKET_LEAF_FLAG as usize != 0,
        });
    }
    Ok(())
}

#[cfg(test)]
#[path = "bolt_tests.rs"]
mod tests;
