/* generate.c - being written */
