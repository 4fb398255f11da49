/*
 * xenfsimage.h: Xen's current name for fsimage.h. The same declarations:
 * code written for Xen's libxenfsimage compiles unchanged against it.
 */
#ifndef XENFSIMAGE_H
#define XENFSIMAGE_H

#include "fsimage.h"

#endif /* XENFSIMAGE_H */
