//! The one buffer every secret-bearing byte is gathered in: request bodies as they are written,
//! answers as they are read.

use zeroize::Zeroize;

/// A growable byte buffer that never leaves a copy behind: when it outgrows its storage it wipes
/// the old one before letting it go, and it wipes its last storage when dropped.
///
/// A plain `Vec` (or `Zeroizing<Vec<u8>>`) frees its old allocation as is when it grows, so an
/// answer holding a token could linger in freed memory. Every adapter reads Square's answer into
/// this buffer, with the size cap checked on each push, and the core writes request bodies into
/// it.
///
/// ```
/// use square_oauth::{BodyTooLarge, WipingBuffer};
///
/// // An answer announced at 10 bytes, under a 16-byte cap.
/// let mut answer = WipingBuffer::capped(16, Some(10))?;
/// answer.push(b"{\"a\":")?;
/// answer.push(b"1}")?;
/// assert_eq!(answer.as_slice(), b"{\"a\":1}");
/// assert_eq!(answer.push(&[b' '; 10]), Err(BodyTooLarge { limit: 16 }));
/// // A length announced over the cap fails before anything is read.
/// assert!(WipingBuffer::capped(16, Some(17)).is_err());
/// # Ok::<(), BodyTooLarge>(())
/// ```
pub struct WipingBuffer {
    bytes: Vec<u8>,
    limit: usize,
}

/// A body passed the cap; reading stopped there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the body is over the {limit}-byte cap")]
pub struct BodyTooLarge {
    /// The cap, in bytes.
    pub limit: usize,
}

/// The most [`WipingBuffer::capped`] reserves for an announced length: the default cap, far
/// above any answer of Square's OAuth API.
const PREALLOCATED_AT_MOST: usize = 1 << 20;

impl WipingBuffer {
    /// An empty buffer with no cap, room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Self {
        WipingBuffer { bytes: Vec::with_capacity(capacity), limit: usize::MAX }
    }

    /// An empty buffer that refuses to hold more than `limit` bytes. `announced` is the length
    /// the answer announced (`Content-Length`): over the cap it fails at once; under it the
    /// storage is taken in one piece, up to 1 MiB (a length is only a claim until the bytes
    /// come: under a cap raised far above Square's answers, a forged one must not reserve
    /// memory the answer never fills).
    pub fn capped(limit: usize, announced: Option<u64>) -> Result<Self, BodyTooLarge> {
        let announced = announced.unwrap_or(0);
        if announced > limit as u64 {
            return Err(BodyTooLarge { limit });
        }
        let reserved = announced.min(PREALLOCATED_AT_MOST as u64) as usize;
        Ok(WipingBuffer { bytes: Vec::with_capacity(reserved), limit })
    }

    /// Appends `data`, or fails without appending anything if that would pass the cap.
    #[inline]
    pub fn push(&mut self, data: &[u8]) -> Result<(), BodyTooLarge> {
        self.grow_to(data.len())?;
        self.bytes.extend_from_slice(data);
        Ok(())
    }

    /// Appends `count` zero bytes and returns them to be filled in place (for a source that
    /// copies into a slice, such as a JavaScript `Uint8Array`), or fails as [`push`](Self::push).
    pub fn push_zeroed(&mut self, count: usize) -> Result<&mut [u8], BodyTooLarge> {
        self.grow_to(count)?;
        let start = self.bytes.len();
        self.bytes.resize(start + count, 0);
        Ok(&mut self.bytes[start..])
    }

    /// Makes room for `more` bytes. serde_json writes a body in dozens of small pieces, nearly
    /// all of which fit: that case is inlined, the rest is [`grow_slow`](Self::grow_slow).
    #[inline]
    fn grow_to(&mut self, more: usize) -> Result<(), BodyTooLarge> {
        let free = self.bytes.capacity() - self.bytes.len();
        if more <= free && more <= self.limit - self.bytes.len() {
            return Ok(());
        }
        self.grow_slow(more)
    }

    /// Makes room for `more` bytes past the storage, moving to bigger storage by hand so that
    /// the old one is wiped, or fails at the cap.
    #[cold]
    #[inline(never)]
    fn grow_slow(&mut self, more: usize) -> Result<(), BodyTooLarge> {
        if more > self.limit - self.bytes.len() {
            return Err(BodyTooLarge { limit: self.limit });
        }
        let needed = self.bytes.len() + more;
        if needed > self.bytes.capacity() {
            let mut bigger = Vec::with_capacity(needed.max(self.bytes.capacity().saturating_mul(2)));
            bigger.extend_from_slice(&self.bytes);
            self.bytes.zeroize();
            self.bytes = bigger;
        }
        Ok(())
    }

    /// The bytes held.
    pub fn as_slice(&self) -> &[u8] {
        &self.bytes
    }

    /// How many bytes are held.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The bytes, handed over without a copy; wiping them becomes the caller's duty.
    pub(crate) fn into_vec(mut self) -> Vec<u8> {
        core::mem::take(&mut self.bytes)
    }
}

impl AsRef<[u8]> for WipingBuffer {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

impl core::fmt::Debug for WipingBuffer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "WipingBuffer({} bytes, [REDACTED])", self.bytes.len())
    }
}

impl std::io::Write for WipingBuffer {
    #[inline]
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.push(buf).map_err(std::io::Error::other)?;
        Ok(buf.len())
    }

    // serde_json writes in many small pieces; the default `write_all` loops over an
    // out-of-line `write`, which showed in profiles.
    #[inline]
    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.write(buf).map(drop)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for WipingBuffer {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_announced_length_under_a_huge_cap_reserves_at_most_a_mebibyte() {
        // A petabyte announced under a cap of usize::MAX: taken as a claim, not reserved (the
        // allocation alone would abort the process).
        let mut buffer = WipingBuffer::capped(usize::MAX, Some(1 << 50)).expect("under the cap");
        assert!(buffer.bytes.capacity() <= PREALLOCATED_AT_MOST, "{}", buffer.bytes.capacity());
        buffer.push(&[7; 3 << 20]).expect("the bytes that do come are taken");
        assert_eq!(buffer.len(), 3 << 20);
        // An ordinary answer's length is still reserved in one piece.
        assert_eq!(WipingBuffer::capped(1 << 20, Some(612)).unwrap().bytes.capacity(), 612);
    }

    #[test]
    fn growing_keeps_every_byte_and_doubles() {
        let mut buffer = WipingBuffer::with_capacity(4);
        buffer.push(b"abcd").unwrap();
        buffer.push(b"efgh").unwrap();
        assert_eq!(buffer.as_slice(), b"abcdefgh");
        assert!(buffer.bytes.capacity() >= 8);
        buffer.push_zeroed(3).unwrap().copy_from_slice(b"ijk");
        assert_eq!(buffer.as_slice(), b"abcdefghijk");
    }

    #[test]
    fn the_cap_holds_at_the_byte() {
        let mut buffer = WipingBuffer::capped(8, None).unwrap();
        buffer.push(b"12345678").unwrap();
        assert_eq!(buffer.push(b"9"), Err(BodyTooLarge { limit: 8 }));
        assert_eq!(buffer.push_zeroed(1).map(|_| ()), Err(BodyTooLarge { limit: 8 }));
        assert_eq!(buffer.len(), 8, "a refused push appends nothing");
        assert!(WipingBuffer::capped(8, Some(8)).is_ok());
        assert_eq!(WipingBuffer::capped(8, Some(9)).map(|_| ()), Err(BodyTooLarge { limit: 8 }));
    }

    #[test]
    fn debug_shows_no_byte() {
        let mut buffer = WipingBuffer::with_capacity(0);
        buffer.push(b"EAAAsecret").unwrap();
        assert_eq!(format!("{buffer:?}"), "WipingBuffer(10 bytes, [REDACTED])");
    }
}
