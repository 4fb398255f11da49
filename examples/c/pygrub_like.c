/*
 * pygrub_like: every classic libfsimage call, used the way Xen's pygrub
 * (through its fsimage Python extension) uses them: load the plugins, open
 * the filesystem at a byte offset, look for a boot loader config in
 * pygrub's order, read it and the kernel/ramdisk whole with the
 * extension's pread loop, ask for the boot string, close everything.
 *
 *   pygrub_like IMAGE OFFSET OUTDIR [KERNEL [RAMDISK]]
 *
 * Writes OUTDIR/config, OUTDIR/kernel, OUTDIR/ramdisk and prints what it
 * did. Exit status 0 when every check passed.
 *
 * Build: cc $(pkg-config --cflags --libs xenfsimage) -o pygrub_like pygrub_like.c
 * (or -lxenfsimage / -lfsimage directly).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenfsimage.h>

/* The config files pygrub looks for, in its order. */
static const char *const configs[] = {
	"/boot/grub/grub.cfg", "/grub/grub.cfg",
	"/boot/grub2/grub.cfg", "/grub2/grub.cfg",
	"/boot/isolinux/isolinux.cfg", "/boot/extlinux/extlinux.conf",
	"/boot/extlinux.conf", "/extlinux/extlinux.conf", "/extlinux.conf",
	"/boot/grub/menu.lst", "/boot/grub/grub.conf",
	"/grub/menu.lst", "/grub/grub.conf",
	NULL
};

static int check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "pygrub_like: check failed: %s (errno %d: %s)\n",
		    what, errno, strerror(errno));
		exit(3);
	}
	return ok;
}

/*
 * The extension's file.read(): with size 0, read everything, growing the
 * buffer by 4096 after each fsi_pread_file; with a size, read that much.
 */
static char *ext_read(fsi_file_t *file, int size, uint64_t offset, size_t *len)
{
	int bufsize = size ? size : 4096;
	ssize_t bytesread = 0;
	char *buffer = malloc((size_t)bufsize);

	if (buffer == NULL)
		return NULL;
	for (;;) {
		ssize_t err = fsi_pread_file(file, buffer + bytesread,
		    (size_t)bufsize, (uint64_t)bytesread + offset);
		if (err == -1) {
			free(buffer);
			return NULL;
		} else if (err == 0) {
			break;
		}
		bytesread += err;
		if (size != 0) {
			bufsize -= (int)err;
			if (bufsize == 0)
				break;
		} else {
			char *more = realloc(buffer, (size_t)(bytesread + bufsize));
			if (more == NULL) {
				free(buffer);
				return NULL;
			}
			buffer = more;
		}
	}
	*len = (size_t)bytesread;
	return buffer;
}

/* fs.open_file(name).read() into OUTDIR/NAME; also checks that a
 * sequential fsi_read_file gives the same bytes. */
static int fetch(fsi_t *fs, const char *path, const char *outdir,
    const char *outname)
{
	char out[4096], chunk[1000];
	size_t len = 0, seq = 0;
	fsi_file_t *file = fsi_open_file(fs, path);
	char *data;
	ssize_t n;
	FILE *fp;

	if (file == NULL) {
		fprintf(stderr, "pygrub_like: %s: %s (%s)\n", path,
		    strerror(errno), fsi_last_error());
		return -1;
	}
	data = ext_read(file, 0, 0, &len);
	if (data == NULL) {
		fprintf(stderr, "pygrub_like: %s: read: %s (%s)\n", path,
		    strerror(errno), fsi_last_error());
		fsi_close_file(file);
		return -1;
	}
	while ((n = fsi_read_file(file, chunk, sizeof(chunk))) > 0) {
		check(seq + (size_t)n <= len, "fsi_read_file reads no more than pread");
		check(memcmp(chunk, data + seq, (size_t)n) == 0,
		    "fsi_read_file bytes equal fsi_pread_file bytes");
		seq += (size_t)n;
	}
	check(n == 0 && seq == len, "fsi_read_file reaches the same end");
	if (len > 10) {
		/* read(size=5, offset=3) */
		size_t l5 = 0;
		char *five = ext_read(file, 5, 3, &l5);
		check(five != NULL && l5 == 5 && memcmp(five, data + 3, 5) == 0,
		    "read(size=5, offset=3)");
		free(five);
	}
	check(fsi_close_file(file) == 0, "fsi_close_file");

	snprintf(out, sizeof(out), "%s/%s", outdir, outname);
	fp = fopen(out, "wb");
	check(fp != NULL, "open output file");
	check(fwrite(data, 1, len, fp) == len, "write output file");
	check(fclose(fp) == 0, "close output file");
	printf("%s: %s (%zu bytes)\n", outname, path, len);
	free(data);
	return 0;
}

int main(int argc, char **argv)
{
	const char *image, *outdir;
	const char *const *cfg;
	uint64_t offset;
	char *boot, *mine;
	fsi_t *fs;
	int rc = 0;

	if (argc < 4 || argc > 6) {
		fprintf(stderr, "usage: pygrub_like IMAGE OFFSET OUTDIR "
		    "[KERNEL [RAMDISK]]\n");
		return 2;
	}
	image = argv[1];
	offset = strtoull(argv[2], NULL, 0);
	outdir = argv[3];

	/* Deprivileged pygrub loads the plugins first; twice is harmless. */
	check(fsi_init() == 0, "fsi_init");
	check(fsi_init() == 0, "fsi_init again");

	/* fsimage.open(name, offset) with no options: NULL. */
	fs = fsi_open_fsimage(image, offset, NULL);
	if (fs == NULL) {
		fprintf(stderr, "pygrub_like: %s: %s (%s)\n", image,
		    strerror(errno), fsi_last_error());
		return 1;
	}

	/* fsimage.getbootstring(fs) */
	boot = fsi_fs_bootstring(fs);
	printf("bootstring: %s\n", boot ? boot : "(none)");

	for (cfg = configs; *cfg != NULL; cfg++)
		if (fsi_file_exists(fs, *cfg))
			break;
	if (*cfg == NULL) {
		fprintf(stderr, "pygrub_like: no boot loader config found\n");
		rc = 1;
	} else if (fetch(fs, *cfg, outdir, "config") != 0) {
		rc = 1;
	}

	errno = 0;
	check(fsi_file_exists(fs, "/no/such/file") == 0 && errno == ENOENT,
	    "fsi_file_exists on a missing file: 0, ENOENT");

	if (argc > 4 && fetch(fs, argv[4], outdir, "kernel") != 0)
		rc = 1;
	if (argc > 5 && fetch(fs, argv[5], outdir, "ramdisk") != 0)
		rc = 1;

	/* The plugin-side calls: a caller-set boot string. */
	mine = fsi_bootstring_alloc(fs, 32);
	check(mine != NULL, "fsi_bootstring_alloc");
	strcpy(mine, "root=/dev/xvda1");
	check(fsi_fs_bootstring(fs) == mine, "fsi_fs_bootstring returns it");
	fsi_bootstring_free(fs);
	check(fsi_fs_bootstring(fs) == NULL, "no boot string after free");

	fsi_close_fsimage(fs);
	return rc;
}
