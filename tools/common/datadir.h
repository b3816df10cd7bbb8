/*
 * datadir.h - where a program's data files are: the installed share/wim/ beside
 * it (PREFIX/bin/../share/wim/), else the source tree it was built from, so the
 * same program runs from the build folder and from wherever it is installed.
 */
#ifndef WIM_DATADIR_H
#define WIM_DATADIR_H

/* PREFIX/share/wim/SUB when the running program is PREFIX/bin/NAME and that
 * directory exists, else built (the build's own path). A string to free(). */
char *data_dir(const char *sub, const char *built);

#endif
