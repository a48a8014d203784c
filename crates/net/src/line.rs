//! Splitting a byte stream into lines, apart from any socket so it can be tested with every
//! chunking of the input.

use std::io::{self, Read};

/// Why a line could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LineError {
    /// The socket failed or timed out.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The peer closed the connection in the middle of a reply.
    #[error("the server closed the connection")]
    Closed,
    /// A line longer than the limit: the peer is out of step.
    #[error("a line longer than {0} bytes")]
    TooLong(usize),
}

/// Takes the first complete line out of `buf`, without its line end (CRLF, or a bare LF that
/// some servers send); `None` while no line end has arrived.
pub(crate) fn take_line(buf: &mut Vec<u8>) -> Option<Vec<u8>> {
    let end = buf.iter().position(|&b| b == b'\n')?;
    let mut line: Vec<u8> = buf.drain(..=end).collect();
    line.pop();
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Some(line)
}

/// Reads from `reader` into `buf` until a whole line is there, and returns it.
pub(crate) fn next_line(
    reader: &mut impl Read,
    buf: &mut Vec<u8>,
    max: usize,
) -> Result<Vec<u8>, LineError> {
    let mut chunk = [0u8; 16 * 1024];
    loop {
        if let Some(line) = take_line(buf) {
            return Ok(line);
        }
        if buf.len() > max {
            return Err(LineError::TooLong(max));
        }
        let n = match reader.read(&mut chunk) {
            Ok(0) => return Err(LineError::Closed),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        buf.extend_from_slice(&chunk[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out its data `size` bytes at a time.
    struct Chunked<'a> {
        data: &'a [u8],
        size: usize,
    }

    impl Read for Chunked<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.size.min(self.data.len()).min(out.len());
            out[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    #[test]
    fn lines_are_the_same_whatever_the_chunking() {
        let input = b"+OK ready\r\n250-a\n\r\n.\r\nlast";
        for size in 1..=input.len() {
            let mut reader = Chunked { data: input, size };
            let mut buf = Vec::new();
            let mut lines = Vec::new();
            for _ in 0..4 {
                lines.push(next_line(&mut reader, &mut buf, 100).expect("a line"));
            }
            assert_eq!(
                lines,
                [&b"+OK ready"[..], b"250-a", b"", b"."],
                "chunk size {size}"
            );
            assert!(matches!(
                next_line(&mut reader, &mut buf, 100),
                Err(LineError::Closed)
            ));
        }
    }

    #[test]
    fn an_endless_line_is_refused() {
        let input = vec![b'a'; 300];
        let mut reader = Chunked {
            data: &input,
            size: 7,
        };
        assert!(matches!(
            next_line(&mut reader, &mut Vec::new(), 100),
            Err(LineError::TooLong(100))
        ));
    }
}
