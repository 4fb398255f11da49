//! Which byte window of an image holds the filesystem to mount: a partition
//! named by id, or the root filesystem as [`crate::disk`]'s root choice
//! finds it.

use crate::disk;
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

fn window_of(image: &Path, file: &Arc<FileImage>, p: &disk::Partition) -> Result<Arc<dyn ReadAt>> {
    if p.id == "0" {
        return Ok(file.clone());
    }
    let w = p.window(file.clone()).map_err(|source| Error::Disk {
        image: image.to_path_buf(),
        source,
    })?;
    Ok(Arc::new(w))
}

/// Chooses the window for `partition` (an id), or the root filesystem.
pub(crate) fn choose(
    image: &Path,
    file: &Arc<FileImage>,
    partition: Option<&str>,
    probe: &mut Probe<'_>,
) -> Result<Chosen> {
    let disk_err = |source| Error::Disk {
        image: image.to_path_buf(),
        source,
    };
    let (part, rule) = match partition {
        Some(id) => {
            let p = if disk::canonical_id(id) == "0" {
                disk::whole_disk(file.size())
            } else {
                disk::parse(&**file)
                    .map_err(disk_err)?
                    .select(id)
                    .map_err(disk_err)?
            };
            let rule = format!("partition {} as asked", p.id);
            (p, rule)
        }
        None => {
            let choice = disk::locate_root_by(&**file, &mut |p| {
                let w: Arc<dyn ReadAt> = if p.id == "0" {
                    file.clone()
                } else {
                    Arc::new(Window::new(file.clone(), p.start, p.size).ok()?)
                };
                probe(&w)
            })
            .map_err(disk_err)?;
            (choice.partition, choice.rule)
        }
    };
    Ok(Chosen {
        window: window_of(image, file, &part)?,
        offset: part.start,
        partition: (part.id != "0").then(|| part.id.clone()),
        rule,
    })
}
