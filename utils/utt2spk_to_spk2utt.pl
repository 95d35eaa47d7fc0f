#!/usr/bin/env perl
# Kaldi's utils/utt2spk_to_spk2utt.pl: reads "utt spk" lines (files named as arguments, or stdin)
# and writes "spk utt1 utt2 ..." lines, speakers in order of first appearance, utterances in input order.
use strict;
use warnings;

my (@speakers, %utts);
while (my $line = <>) {
  my @fields = split(' ', $line);
  @fields == 2 or die "utt2spk_to_spk2utt.pl: $ARGV:$.: expected 'utt spk', got: $line";
  my ($utt, $spk) = @fields;
  push @speakers, $spk unless exists $utts{$spk};
  push @{$utts{$spk}}, $utt;
} continue {
  close ARGV if eof;    # restart $. for each input file
}
print join(' ', $_, @{$utts{$_}}), "\n" for @speakers;
