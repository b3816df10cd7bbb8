/* metrics.c - being written */
