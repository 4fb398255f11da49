//! Opening an image: choosing the filesystem's window, probing the plugins,
//! mounting.

use crate::choose::{self, Chosen};
use crate::disk;
use crate::error::{Error, Result};
use crate::fs::{Filesystem, FsInner};
use crate::image::FileImage;
use crate::plugin::{Mount, Plugin, Registry};
use crate::sandbox::Runner;
use fsimage_abi::{ReadAt, Window};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How to open an image. Defaults: the root filesystem chosen as pygrub
/// would (see [`crate::disk`]), every plugin found by the loader's search
/// order, no options.
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    offset: Option<u64>,
    partition: Option<String>,
    fs: Option<String>,
    options: Vec<u8>,
    plugin_dir: Option<PathBuf>,
    registry: Option<Arc<Registry>>,
    extra_images: Vec<PathBuf>,
    /// Sandbox settings (methods in [`crate::sandbox`]).
    pub(crate) sandbox: crate::sandbox::Config,
}

impl OpenOptions {
    /// Default options.
    pub fn new() -> OpenOptions {
        OpenOptions::default()
    }

    /// The filesystem starts at this byte offset of the image (the classic
    /// libfsimage API's only way); overrides the root choice.
    pub fn offset(&mut self, offset: u64) -> &mut Self {
        self.offset = Some(offset);
        self
    }

    /// The filesystem is in this partition (an id as `fsimage-ls
    /// --partitions` prints it); overrides the root choice.
    pub fn partition(&mut self, id: impl Into<String>) -> &mut Self {
        self.partition = Some(id.into());
        self
    }

    /// Use this plugin only, without probing (e.g. `"ext2"`).
    pub fn fs(&mut self, name: impl Into<String>) -> &mut Self {
        self.fs = Some(name.into());
        self
    }

    /// Options string handed to the plugin (e.g. `journal=replay`, or a ZFS
    /// dataset name).
    pub fn options(&mut self, options: impl AsRef<[u8]>) -> &mut Self {
        self.options = options.as_ref().to_vec();
        self
    }

    /// The options string handed to the plugin.
    pub(crate) fn options_bytes(&self) -> &[u8] {
        &self.options
    }

    /// Search this directory for plugins first.
    pub fn plugin_dir(&mut self, dir: impl Into<PathBuf>) -> &mut Self {
        self.plugin_dir = Some(dir.into());
        self
    }

    /// Use an already loaded set of plugins (saves a search per open).
    pub fn registry(&mut self, registry: Arc<Registry>) -> &mut Self {
        self.registry = Some(registry);
        self
    }

    /// A further whole image holding another device of the same filesystem
    /// (a ZFS pool spanning several files).
    pub fn add_image(&mut self, path: impl Into<PathBuf>) -> &mut Self {
        self.extra_images.push(path.into());
        self
    }

    fn load_registry(&self) -> Result<Arc<Registry>> {
        let reg = match &self.registry {
            Some(r) => r.clone(),
            None => Arc::new(Registry::discover(self.plugin_dir.as_deref())),
        };
        if reg.plugins().is_empty() {
            let searched: Vec<String> = reg
                .searched()
                .iter()
                .map(|p| p.display().to_string())
                .collect();
            let mut msg = searched.join(":");
            for (f, e) in reg.failures() {
                msg.push_str(&format!("; {}: {e}", f.display()));
            }
            return Err(Error::NoPlugins { searched: msg });
        }
        Ok(reg)
    }

    /// Opens `image` and mounts the filesystem chosen by these options.
    pub fn open(&self, image: impl AsRef<Path>) -> Result<Filesystem> {
        let image = image.as_ref();
        let file = open_image(image)?;
        // The worker starts while the plugins load (not for a missing image).
        let pre = crate::sandbox::prestart(&self.sandbox);
        let reg = self.load_registry()?;
        let explicit = match self.offset {
            Some(off) => {
                let len = file.size().saturating_sub(off);
                let w = Window::new(file.clone(), off, len).map_err(|source| Error::Window {
                    image: image.to_path_buf(),
                    source,
                })?;
                Some((off, Arc::new(w) as Arc<dyn ReadAt>))
            }
            None => None,
        };
        let windows = match &explicit {
            Some((_, w)) => vec![w.clone()],
            None => probe_windows(&file, disk::parse(&*file).ok().as_ref()),
        };
        let runner = self.runner(&reg, image, &windows, pre)?;
        let chosen = if let Some((off, window)) = explicit {
            Chosen {
                window,
                offset: off,
                partition: None,
                rule: format!("explicit offset {off}"),
            }
        } else {
            choose::choose(image, &file, self.partition.as_deref(), &mut |w| {
                probe_best(&reg, &runner, self.fs.as_deref(), w)
            })?
        };
        let Chosen {
            window,
            offset,
            partition,
            rule: chosen_by,
        } = chosen;
        let mut devices: Vec<Arc<dyn ReadAt>> = vec![window];
        for extra in &self.extra_images {
            devices.push(open_image(extra)?);
        }
        let (mount, _plugin) = self.mount(&reg, &runner, image, offset, &devices)?;
        let root = mount.root().map_err(|source| Error::Fs {
            image: image.to_path_buf(),
            fs: mount.fs_name().to_owned(),
            path: String::new(),
            source,
        })?;
        let device_sizes = devices.iter().map(|d| d.size()).collect();
        Ok(Filesystem::new(FsInner {
            image: image.to_path_buf(),
            mount,
            devices,
            device_sizes,
            root,
            offset,
            partition,
            chosen_by,
        }))
    }

    /// How this open runs plugins (see [`Runner::new`]).
    fn runner(
        &self,
        reg: &Registry,
        image: &Path,
        windows: &[Arc<dyn ReadAt>],
        pre: Option<crate::sandbox::Starting>,
    ) -> Result<Runner> {
        Runner::new(&self.sandbox, reg, image, self.fs.as_deref(), windows, pre)
    }

    /// Reads `image`'s partition table and says which filesystem each
    /// partition holds (as the plugins recognise it, sandboxed as these
    /// options say) and which one the root choice picks.
    pub fn partitions(&self, image: impl AsRef<Path>) -> Result<PartitionReport> {
        let image = image.as_ref();
        let file = open_image(image)?;
        let pre = crate::sandbox::prestart(&self.sandbox);
        let reg = self.load_registry()?;
        let disk_err = |source| Error::Disk {
            image: image.to_path_buf(),
            source,
        };
        let layout = disk::parse(&*file).map_err(disk_err)?;
        let windows = probe_windows(&file, Some(&layout));
        let runner = self.runner(&reg, image, &windows, pre)?;
        let mut fs: Vec<(String, Option<String>)> = Vec::new();
        let mut probe = |p: &disk::Partition| -> Option<String> {
            if let Some((_, f)) = fs.iter().find(|(id, _)| *id == p.id) {
                return f.clone();
            }
            let found = partition_window(&file, p)
                .and_then(|w| probe_best(&reg, &runner, self.fs.as_deref(), &w));
            fs.push((p.id.clone(), found.clone()));
            found
        };
        for p in &layout.partitions {
            probe(p);
        }
        let root = disk::choose_root_by(&*file, &layout, &mut probe).ok();
        Ok(PartitionReport { layout, fs, root })
    }

    /// Probes (unless a filesystem was forced) and mounts with the first
    /// plugin that succeeds, in order of confidence.
    fn mount(
        &self,
        reg: &Registry,
        runner: &Runner,
        image: &Path,
        offset: u64,
        devices: &[Arc<dyn ReadAt>],
    ) -> Result<(Box<dyn Mount>, Arc<Plugin>)> {
        let candidates: Vec<Arc<Plugin>> = match &self.fs {
            Some(name) => vec![reg.get(name).ok_or_else(|| Error::UnknownFilesystem {
                name: name.clone(),
                loaded: plugin_names(reg),
            })?],
            None => probe_order(reg, runner, devices),
        };
        let mut tried = String::new();
        for p in candidates {
            match runner.mount(p.clone(), devices, &self.options) {
                Ok(m) => return Ok((m, p)),
                Err(e) => {
                    if self.fs.is_some() {
                        return Err(Error::Fs {
                            image: image.to_path_buf(),
                            fs: p.name().to_owned(),
                            path: String::new(),
                            source: e,
                        });
                    }
                    tried.push_str(&format!("; {}: {e}", p.name()));
                }
            }
        }
        Err(Error::NotRecognized {
            image: image.to_path_buf(),
            offset,
            tried,
        })
    }
}

/// A partition table with what each partition holds; see
/// [`OpenOptions::partitions`].
#[derive(Debug, Clone)]
pub struct PartitionReport {
    /// The table as read.
    pub layout: disk::DiskLayout,
    /// Filesystem name per partition id (only partitions that were probed).
    pub fs: Vec<(String, Option<String>)>,
    /// The root choice, if any partition holds a recognised filesystem.
    pub root: Option<disk::RootChoice>,
}

impl PartitionReport {
    /// The filesystem partition `id` holds, if recognised.
    pub fn fs_of(&self, id: &str) -> Option<&str> {
        self.fs
            .iter()
            .find(|(i, _)| i == id)
            .and_then(|(_, f)| f.as_deref())
    }
}

fn plugin_names(reg: &Registry) -> String {
    reg.plugins()
        .iter()
        .map(|p| p.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Partition `p` as a byte source ("0" is the whole image), if it can hold
/// a filesystem (valid, not an extended-partition container).
fn partition_window(file: &Arc<FileImage>, p: &disk::Partition) -> Option<Arc<dyn ReadAt>> {
    if !p.is_valid() || p.ptype.is_extended() {
        return None;
    }
    if p.id == "0" {
        return Some(file.clone());
    }
    let w = Window::new(file.clone(), p.start, p.size).ok()?;
    Some(Arc::new(w))
}

/// Where an open may probe: the whole image and each partition of `layout`.
fn probe_windows(file: &Arc<FileImage>, layout: Option<&disk::DiskLayout>) -> Vec<Arc<dyn ReadAt>> {
    let mut v: Vec<Arc<dyn ReadAt>> = vec![file.clone()];
    for p in layout.map(|l| l.partitions.as_slice()).unwrap_or_default() {
        if p.id != "0" {
            v.extend(partition_window(file, p));
        }
    }
    v
}

fn open_image(path: &Path) -> Result<Arc<FileImage>> {
    FileImage::open(path)
        .map(Arc::new)
        .map_err(|source| Error::Open {
            image: path.to_path_buf(),
            source,
        })
}

/// Plugins that recognise `devices`, most confident first; equal confidence
/// in name order, so the order never depends on the directory listing.
pub(crate) fn probe_order(
    reg: &Registry,
    runner: &Runner,
    devices: &[Arc<dyn ReadAt>],
) -> Vec<Arc<Plugin>> {
    let mut scored: Vec<(u32, Arc<Plugin>)> = reg
        .plugins()
        .iter()
        .filter_map(|p| match runner.probe(p, devices) {
            Ok(c) if c > 0 => Some((c, p.clone())),
            _ => None,
        })
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.name().cmp(b.1.name())));
    scored.into_iter().map(|(_, p)| p).collect()
}

/// The name of the most confident plugin recognising `window`, if any.
pub(crate) fn probe_best(
    reg: &Registry,
    runner: &Runner,
    forced: Option<&str>,
    window: &Arc<dyn ReadAt>,
) -> Option<String> {
    let devs = [window.clone()];
    if let Some(name) = forced {
        let p = reg.get(name)?;
        return matches!(runner.probe(&p, &devs), Ok(c) if c > 0).then(|| name.to_owned());
    }
    probe_order(reg, runner, &devs)
        .first()
        .map(|p| p.name().to_owned())
}
