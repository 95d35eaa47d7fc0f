#!/usr/bin/env perl
# Kaldi's utils/spk2utt_to_utt2spk.pl: reads "spk utt1 utt2 ..." lines (files named as arguments,
# or stdin) and writes one "utt spk" line per utterance, in input order.
use strict;
use warnings;

while (my $line = <>) {
  my ($spk, @utts) = split(' ', $line);
  @utts or die "spk2utt_to_utt2spk.pl: $ARGV:$.: expected 'spk utt1 utt2 ...', got: $line";
  print "$_ $spk\n" for @utts;
} continue {
  close ARGV if eof;    # restart $. for each input file
}
