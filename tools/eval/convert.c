/* convert.c - being written */
