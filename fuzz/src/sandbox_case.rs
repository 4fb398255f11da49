//! What the `sandbox_reply` target runs: the host's decoders of what a
//! (possibly hostile) sandbox worker sends, over arbitrary bytes, and the
//! worker's request decoder with an encode round trip. The fsimage
//! regression test includes this file.
//!
//! Input: `op:u8 handle:u32 a:u64 b:u64 n:u32` (zero-padded) choose the
//! request the host is waiting on a reply to; the rest is the reply body.

use fsimage::sandbox::protocol::{
    self as p, DevSpec, MAX_EXTENTS, MAX_READ, Reply, Request, WorkerMsg,
};

fn field<const N: usize>(data: &[u8], at: usize) -> [u8; N] {
    let mut b = [0u8; N];
    for (i, x) in b.iter_mut().enumerate() {
        *x = data.get(at + i).copied().unwrap_or(0);
    }
    b
}

/// Builds the request the reply answers from the input's first 25 bytes.
fn request(data: &[u8]) -> Request<'static> {
    let op = field::<1>(data, 0)[0];
    let h = u32::from_le_bytes(field(data, 1));
    let a = u64::from_le_bytes(field(data, 5));
    let b = u64::from_le_bytes(field(data, 13));
    let n = u32::from_le_bytes(field(data, 21));
    let dev = vec![DevSpec { slot: 0, size: a }];
    match op % 12 {
        0 => Request::Probe {
            plugin: h as u16,
            devices: dev,
        },
        1 => Request::Mount {
            plugin: h as u16,
            devices: dev,
            options: b"",
        },
        2 => Request::Unmount(h),
        3 => Request::Root(h),
        4 => Request::Lookup {
            handle: h,
            dir: a,
            name: b"name",
        },
        5 => Request::Stat(h, a),
        6 => Request::Read {
            handle: h,
            id: a,
            offset: b,
            len: n % (MAX_READ + 1),
        },
        7 => Request::ReadDir {
            handle: h,
            dir: a,
            cookie: b,
        },
        8 => Request::ReadLink(h, a),
        9 => Request::Extents {
            handle: h,
            id: a,
            from: b,
            max: n % (MAX_EXTENTS + 1),
        },
        10 => Request::Bootstring(h),
        _ => Request::Label(h),
    }
}

/// One input.
pub fn run(data: &[u8]) {
    let req = request(data);
    let body = data.get(25..).unwrap_or_default();
    let _ = p::decode_header(field(data, 0));
    match p::decode_reply(&req, body) {
        Ok(Ok(Reply::Data(d))) => {
            if let Request::Read { len, .. } = req {
                assert!(d.len() <= len as usize, "read reply longer than asked");
            }
        }
        Ok(Ok(Reply::Extents(v))) => {
            if let Request::Extents { max, .. } = req {
                assert!(v.len() <= max as usize, "more extents than asked");
            }
        }
        Ok(Ok(Reply::Confidence(c))) => assert!(c <= 100),
        _ => {}
    }
    if let Ok(WorkerMsg::SourceRead { len, .. }) = p::decode_worker_msg(body) {
        assert!(len <= p::MAX_SOURCE_READ);
    }
    let _ = p::decode_stat(body);
    let _ = p::decode_error(body);
    let _ = p::decode_extents(body, (MAX_EXTENTS as usize).min(body.len()));
    if let Ok(paths) = p::decode_load(body) {
        assert!(paths.len() <= p::MAX_PLUGINS);
    }
    // The worker's side: a request that decodes encodes back to itself.
    if let Ok(r) = p::decode_request(body) {
        let frame = p::encode_request(&r).expect("a decoded request encodes");
        assert_eq!(&frame[4..], body, "request round trip: {r:?}");
    }
}
