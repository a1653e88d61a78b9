#!/bin/sh
rm -f /usr/bin/dino-lab /usr/bin/dinolab
